import assert from "node:assert/strict";
import { compare } from "./compare.ts";
import { renderReportHtml } from "./html.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import { defaultWorld } from "../engine/world_spec.ts";
import { buildPolicy, POLICY_NAMES } from "../policies/registry.ts";
import { defaultSyntheticParams, synthesize } from "../trace/synthetic.ts";

const CHROMIUM = "/usr/bin/chromium";

function smallReportHtml(): string {
  const config = defaultSimConfig();
  const trace = synthesize({ ...defaultSyntheticParams(1, 0.5, 3), name: "html-test <&>" });
  const r = compare({
    trace,
    config,
    world: defaultWorld(),
    seed: 2,
    policies: POLICY_NAMES.map((n) => buildPolicy(n, config)),
  });
  return renderReportHtml(r);
}

Deno.test("the HTML report is self-contained: no script, no external URL, one svg per chart", () => {
  const html = smallReportHtml();
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /(src|href)=["']?https?:/i);
  assert.equal(html.match(/<svg /g)?.length, 5);
  // One line per policy in each chart, plus the fluid bound in the nodes chart.
  assert.equal(html.match(/<polyline /g)?.length, 5 * POLICY_NAMES.length + 1);
  assert.match(html, /stroke-dasharray="4 3"[^>]*><title>fluid bound<\/title>/);
  assert.match(html, /html-test &lt;&amp;&gt;/, "trace name is escaped");
});

Deno.test("headless Chromium renders the HTML report offline with charts and no console errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-html-" });
  try {
    const file = `${dir}/report.html`;
    await Deno.writeTextFile(file, smallReportHtml());
    const out = await new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${dir}/profile`,
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        `file://${file}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dom = new TextDecoder().decode(out.stdout);
    const log = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, log);
    // The DOM as Chromium parsed it: the title, the table and five inline SVG charts.
    assert.match(dom, /<title>proxscale simulation: html-test/);
    assert.equal(dom.match(/<svg /g)?.length, 5, "five charts");
    assert.ok((dom.match(/<polyline /g)?.length ?? 0) >= 5 * POLICY_NAMES.length);
    assert.match(dom, /<td>proxscale<\/td>/);
    // Chromium logs page console messages and load failures as CONSOLE/ERROR lines.
    const consoleLines = log.split("\n").filter((l) =>
      /CONSOLE|Uncaught|net::ERR_|Failed to load/.test(l)
    );
    assert.deepEqual(consoleLines, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every policy's line stays visible: proxscale drawn last and solid, baselines dashed apart", () => {
  const html = smallReportHtml();
  const chart = html.split("<svg ")[1]!;
  const lines = [...chart.matchAll(/<polyline [^>]*><title>([^<]+)<\/title>/g)];
  const names = lines.map((m) => m[1]);
  assert.equal(names[names.length - 1], "proxscale", "proxscale is on top of every baseline");
  const dashes = lines.filter((m) => m[1] !== "proxscale").map((m) =>
    m[0].match(/stroke-dasharray="([^"]+)"/)?.[1]
  );
  assert.equal(new Set(dashes).size, dashes.length, `each baseline its own dash: ${dashes}`);
  assert.doesNotMatch(lines.find((m) => m[1] === "proxscale")![0], /stroke-dasharray/);
});

Deno.test("hovering a chart names every policy's value at that time", () => {
  const html = smallReportHtml();
  const band = html.match(/<rect class="hv"[^>]*><title>([^<]+)<\/title>/);
  assert.ok(band, "hover bands exist");
  for (const n of POLICY_NAMES) assert.match(band[1]!, new RegExp(`${n}: `));
  assert.match(band[1]!, /^t = /);
});
