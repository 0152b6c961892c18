import { buildNoCloudIso } from "./iso9660.ts";
import { readIso } from "./iso9660_reader.ts";

const enc = new TextEncoder();
const files = [
  { name: "user-data", data: enc.encode("#cloud-config\n" + "# line of user-data\n".repeat(400)) },
  { name: "meta-data", data: enc.encode("instance-id: 9000\nlocal-hostname: general-7f3k2\n") },
  { name: "network-config", data: enc.encode("version: 2\nethernets: {}\n") },
];
const image = buildNoCloudIso(files);

Deno.bench("build a NoCloud seed ISO (8 KiB user-data)", () => {
  buildNoCloudIso(files);
});

Deno.bench("read back a NoCloud seed ISO", () => {
  readIso(image);
});
