"""A local webhook receiver for trying alert delivery: verifies each POST, prints the alert.

    HOOK_SECRET=whsec_... python tools/webhook_receiver.py --port 8765

Listens on 127.0.0.1 only. A request whose Standard Webhooks signature does not verify with
the secret in $HOOK_SECRET (or --secret-env) gets 401 and is reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret-env", default="HOOK_SECRET")
    options = parser.parse_args()
    secret = os.environ.get(options.secret_env, "")
    if not secret:
        sys.exit(f"webhook_receiver: set {options.secret_env} to the subscription's secret")
    # The same key armswatch signs with: whsec_<base64> decoded, else the secret's bytes.
    verifier = Webhook(secret) if secret.startswith("whsec_") else Webhook(secret.encode())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                alert = verifier.verify(body, dict(self.headers.items()))
            except WebhookVerificationError as exc:
                self.send_response(401)
                self.end_headers()
                print(f"refused {self.headers.get('webhook-id')}: {exc}", flush=True)
                return
            self.send_response(204)
            self.end_headers()
            record = alert["record"]
            transfers = [record["transfers"][i] for i in alert.get("matched", [])]
            print(
                json.dumps(
                    {
                        "webhook-id": self.headers.get("webhook-id"),
                        "subscription": alert["subscription"],
                        "kind": alert["kind"],
                        "title": record.get("title"),
                        "transfers": [
                            f"{t['supplier']} -> {t['recipient']} {t['system_class']} "
                            f"({t['status']}{', denied' if t['denied'] else ''})"
                            for t in transfers
                        ],
                        "changes": [c["text"] for c in alert.get("changes", [])],
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )

        def log_message(self, format: str, *args: object) -> None:
            pass  # the alerts are the output

    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    print(f"listening on http://127.0.0.1:{options.port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
