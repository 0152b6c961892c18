/**
 * Shared test objects for the fake API server's tests: a NodePool CRD shaped like the one
 * proxscale ships (status subresource, printer columns, defaults, enums,
 * list-map conditions).
 */

/** A NodePool CRD shaped like proxscale's (abbreviated schema). */
export function nodePoolCrd(opts: { scope?: "Cluster" | "Namespaced"; scale?: boolean } = {}) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "nodepools.proxscale.io" },
    spec: {
      group: "proxscale.io",
      scope: opts.scope ?? "Cluster",
      names: {
        kind: "NodePool",
        listKind: "NodePoolList",
        plural: "nodepools",
        singular: "nodepool",
        shortNames: ["np"],
        categories: ["proxscale"],
      },
      versions: [{
        name: "v1alpha1",
        served: true,
        storage: true,
        subresources: {
          status: {},
          ...(opts.scale
            ? {
              scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" },
            }
            : {}),
        },
        additionalPrinterColumns: [
          { name: "Min", type: "integer", jsonPath: ".spec.minNodes" },
          {
            name: "Ready",
            type: "string",
            jsonPath: '.status.conditions[?(@.type=="Ready")].status',
          },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                required: ["providerRef"],
                "x-kubernetes-validations": [{
                  rule: "self.minNodes <= self.maxNodes",
                  message: "minNodes must be less than or equal to maxNodes",
                }],
                properties: {
                  providerRef: { type: "string", minLength: 1 },
                  minNodes: { type: "integer", minimum: 0, default: 0 },
                  maxNodes: { type: "integer", minimum: 0, default: 10 },
                  replicas: { type: "integer" },
                  mode: { type: "string", enum: ["clone", "scratch"], default: "clone" },
                  name: { type: "string", pattern: "^[a-z]+$" },
                },
              },
              status: {
                type: "object",
                properties: {
                  replicas: { type: "integer" },
                  observedGeneration: { type: "integer", format: "int64" },
                  conditions: {
                    type: "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    items: {
                      type: "object",
                      required: ["type", "status"],
                      properties: {
                        type: { type: "string" },
                        status: { type: "string", enum: ["True", "False", "Unknown"] },
                        reason: { type: "string" },
                        message: { type: "string" },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      }],
    },
  };
}
