/**
 * Image endpoints of the fake PVE: `download-url` into a storage (for cloud images with content
 * `import`). Its privilege rule is an AND/OR PVE states per endpoint: Datastore.AllocateTemplate
 * on the storage, and either Sys.Audit plus Sys.Modify on `/` or Sys.AccessNetwork on the node
 * (fetching a URL probes the host's network).
 *
 * May import: ./auth.ts, ./route_kit.ts.
 */
import { hasPriv } from "./auth.ts";
import { from, type Route } from "./route_kit.ts";

/** Image endpoints of the fake PVE. */
export const IMAGE_ROUTES: Route[] = [
  {
    method: "POST",
    path: "/nodes/{node}/storage/{storage}/download-url",
    needs: (
      c,
    ) => [{ paths: [`/storage/${c.path.storage}`], privs: ["Datastore.AllocateTemplate"] }],
    run: (c) => {
      const node = c.path.node!;
      const net = hasPriv(c.id, ["/"], "Sys.Audit") && hasPriv(c.id, ["/"], "Sys.Modify") ||
        hasPriv(c.id, [`/nodes/${node}`], "Sys.AccessNetwork");
      if (!net) {
        return {
          ok: false,
          error: {
            status: 403,
            message: `Permission check failed (/nodes/${node}, Sys.AccessNetwork)`,
          },
        };
      }
      return from(c.model.downloadUrl(node, c.path.storage!, c.params, c.id.full));
    },
  },
];
