-- wrk script: POST a chat completion (non-streamed) with the body gateway_bench serves.
-- GATEWAY_KEY: a Sentinel key with the proxy scope; BODY_FILE: the JSON body.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("GATEWAY_KEY") or "")
local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
wrk.body = f:read("*a")
f:close()
