-- wrk script: POST /api/guard without recording, with a realistic ~1 KiB prompt.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("GUARD_KEY") or ""
local prompt = "Hi team, I'm preparing the quarterly review for the support organisation. " ..
  "Please summarise the attached notes into five bullet points, keep the tone neutral and avoid jargon. " ..
  "The notes cover ticket volumes, first-response times, the migration to the new help centre, " ..
  "staffing for the holiday period and two escalations from enterprise customers. " ..
  "For the escalations, mention that both were resolved within the SLA and that the root causes " ..
  "were a misconfigured webhook and a billing sync delay. Also add a short paragraph on what we " ..
  "learned, and a list of follow-ups with owners: Priya for the webhook monitoring, Tom for the " ..
  "billing sync alerting, and me for the holiday rota. If anything in the notes is ambiguous, " ..
  "flag it rather than guessing. You can reach me at the usual channel if you need more context. " ..
  "Finally, suggest two metrics we should start tracking next quarter, with a one-line rationale each."
local source = os.getenv("GUARD_SOURCE") or "SupportBot"
local stage = os.getenv("GUARD_STAGE") or "input"
wrk.body = '{"text": "' .. prompt .. '", "stage": "' .. stage .. '", "source": "' .. source .. '", "record": false}'
