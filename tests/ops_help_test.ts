/**
 * `--help` everywhere: every subcommand main.ts lists prints its usage and exits 0 without doing
 * its work, and the top-level help names every command (the shared check greps it).
 */
import assert from "node:assert/strict";
import { COMMANDS, helpText } from "../main.ts";
import { captureIo } from "../cli/command.ts";
import { COMMAND_SUMMARIES, type CommandName } from "../cli/summaries.ts";

for (const [name, entry] of Object.entries(COMMANDS)) {
  Deno.test(`proxscale ${name} --help prints usage and exits 0`, async () => {
    const command = await entry.load();
    for (const flag of ["--help", "-h"]) {
      const io = captureIo();
      const code = await command.run([flag], io);
      const out = io.stdout.join("\n");
      assert.equal(code, 0, `${name} ${flag}: exit ${code}\n${io.stderr.join("\n")}`);
      assert.match(out, /usage/i, `${name} ${flag} prints a usage line`);
      assert.ok(out.includes(name.split("-")[0]!), `${name} ${flag} names the command`);
    }
  });
}

Deno.test("top-level help lists every command, and the operations commands exist", () => {
  const text = helpText();
  for (const name of Object.keys(COMMANDS)) assert.match(text, new RegExp(`^  ${name} `, "m"));
  for (const name of ["status", "diagnose", "pause", "resume"]) {
    assert.ok(name in COMMANDS, `${name} is a command`);
  }
});

Deno.test("each command's own summary is the line top-level help lists for it", async () => {
  const text = helpText();
  assert.deepEqual(Object.keys(COMMANDS).sort(), Object.keys(COMMAND_SUMMARIES).sort());
  for (const [name, entry] of Object.entries(COMMANDS)) {
    const command = await entry.load();
    assert.equal(command.name, name);
    assert.equal(command.summary, COMMAND_SUMMARIES[name as CommandName], name);
    const listed = text.split("\n").find((l) => l.startsWith(`  ${name} `))?.trim();
    assert.equal(listed?.slice(name.length).trim(), command.summary, `${name} in help`);
  }
});
