import { deepEqual, equal, match } from "node:assert/strict";
import { extendedInfo, httpError, kindOfStatus } from "./errors.ts";

Deno.test("the BMC's ExtendedInfo messages are surfaced in the error message", () => {
  const body = {
    error: {
      code: "Base.1.8.GeneralError",
      message: "A general error has occurred.",
      "@Message.ExtendedInfo": [
        { MessageId: "Base.1.8.ResourceInUse", Message: "The system is already powered on." },
      ],
    },
  };
  const e = httpError("POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset", 409, body);
  equal(e.kind, "conflict");
  match(e.message, /HTTP 409: The system is already powered on\./);
  deepEqual(e.messageIds, ["Base.1.8.ResourceInUse"]);
  equal(e.permanent, false);
});

Deno.test("an error body without ExtendedInfo falls back to error.message, and no body to the status", () => {
  deepEqual(extendedInfo({ error: { message: "nope" } }).messages, ["nope"]);
  deepEqual(extendedInfo("not json").messages, []);
  match(httpError("GET /x", 500, undefined).message, /^GET \/x failed with HTTP 500$/);
});

Deno.test("statuses map to kinds callers decide on, and a missing privilege is permanent", () => {
  equal(kindOfStatus(401), "auth");
  equal(kindOfStatus(412), "preconditionFailed");
  equal(kindOfStatus(503), "server");
  equal(httpError("POST /a", 403, {}).permanent, true);
  equal(httpError("GET /a", 503, {}).permanent, false);
});
