"""A webhook receiver that checks every delivery with the official `standardwebhooks` library.

Usage: receiver.py SECRETS_FILE

Listens on 127.0.0.1 (a free port, printed first as `{"port": N}`), and for every POST reads the
secrets file (one `whsec_...` per line; the test rewrites it), verifies the body and headers with
`standardwebhooks.Webhook(secret).verify(body, headers)` for each secret in turn, and prints one
JSON line per delivery: its `webhook-id`, the message `type`, whether it verified and with which
secret (index in the file). It answers 204 when verified and 401 otherwise. Runs until killed.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

SECRETS = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k: v for k, v in self.headers.items()}
        with open(SECRETS, encoding="utf-8") as f:
            secrets = [line.strip() for line in f if line.strip()]
        verified_with, payload, error = None, None, None
        for index, secret in enumerate(secrets):
            try:
                payload = Webhook(secret).verify(body, headers)
                verified_with = index
                break
            except WebhookVerificationError as e:
                error = str(e)
        record = {
            "id": headers.get("webhook-id") or headers.get("Webhook-Id"),
            "signatures": len((self.headers.get("webhook-signature") or "").split(" ")),
            "verified": verified_with is not None,
            "secret": verified_with,
            "type": payload.get("type") if isinstance(payload, dict) else None,
            "error": None if verified_with is not None else error,
        }
        print(json.dumps(record), flush=True)
        self.send_response(204 if record["verified"] else 401)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(json.dumps({"port": server.server_address[1]}), flush=True)
server.serve_forever()
