import { chooseVmid } from "./vmid.ts";

// A wide range with many ids blocked: the cost follows the blocked ids, not the range width.
const taken = Array.from({ length: 50_000 }, (_, i) => 1000 + i * 3);
const range = { lower: 100, upper: 999_999_999 };
const full = { lower: 1000, upper: 50_999 };
const fullTaken = Array.from({ length: 50_000 }, (_, i) => 1000 + i);

Deno.bench("chooseVmid with 50k blocked ids in a billion-id range", () => {
  chooseVmid({ range, taken, start: 1000 });
});

Deno.bench("chooseVmid reports a full 50k range as exhausted", () => {
  chooseVmid({ range: full, taken: fullTaken });
});
