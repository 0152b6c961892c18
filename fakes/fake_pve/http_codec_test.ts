import assert from "node:assert/strict";
import { decodeUrlencoded, parseMultipart } from "./http_codec.ts";

Deno.test("form decoding follows pve-http-server: ; splits, = truncates, + is a space", () => {
  assert.deepEqual(decodeUrlencoded("tags=a;b"), { tags: "a", b: "" });
  assert.deepEqual(decodeUrlencoded("ipconfig0=ip=dhcp"), { ipconfig0: "ip" });
  assert.deepEqual(decodeUrlencoded("ipconfig0=ip%3Ddhcp&tags=a%3Bb"), {
    ipconfig0: "ip=dhcp",
    tags: "a;b",
  });
  assert.deepEqual(decodeUrlencoded("name=a+b&plus=%2B"), { name: "a b", plus: "+" });
  assert.deepEqual(decodeUrlencoded("sshkeys=ssh-ed25519%2520AAAA"), {
    sshkeys: "ssh-ed25519%20AAAA",
  });
  assert.deepEqual(decodeUrlencoded("vms=101&vms=102"), { vms: ["101", "102"] });
  assert.deepEqual(decodeUrlencoded("desc=%C3%A9t%C3%A9"), { desc: "été" });
});

Deno.test("multipart bodies split into fields and files", () => {
  const body = new TextEncoder().encode(
    '--XX\r\nContent-Disposition: form-data; name="content"\r\n\r\niso\r\n' +
      '--XX\r\nContent-Disposition: form-data; name="filename"; filename="a.iso"\r\n\r\n\x00\x01\r\n\r\n--XX--\r\n',
  );
  const parts = parseMultipart(body, "XX")!;
  assert.equal(parts.length, 2);
  assert.equal(parts[0]!.name, "content");
  assert.equal(new TextDecoder().decode(parts[0]!.data), "iso");
  assert.equal(parts[1]!.filename, "a.iso");
  assert.deepEqual([...parts[1]!.data], [0, 1, 13, 10]);
  assert.equal(parseMultipart(new TextEncoder().encode("garbage"), "XX"), undefined);
});
