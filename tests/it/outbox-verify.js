// outbox-verify.js LOG SECRET [PUBKEY.pem]: verify every request in a
// sink's log with the standardwebhooks package (the reference
// implementation of Standard Webhooks), and the v1a ed25519 signature
// with node's crypto when a public key is given.  Prints "ok N" or the
// first failure.
const fs = require("fs");
const crypto = require("crypto");
const { Webhook } = require("standardwebhooks");
const [log, secret, pub] = process.argv.slice(2);
const wh = new Webhook(secret.replace(/^whsec_/, ""));
let n = 0;
for (const line of fs.readFileSync(log, "utf8").split("\n")) {
  if (!line) continue;
  const r = JSON.parse(line);
  const h = { "webhook-id": r.headers["webhook-id"],
    "webhook-timestamp": r.headers["webhook-timestamp"],
    "webhook-signature": r.headers["webhook-signature"] };
  try {
    wh.verify(r.body, h);
  } catch (e) {
    console.log("v1 failed: " + e.message);
    process.exit(1);
  }
  if (pub) {
    const sigs = h["webhook-signature"].split(" ").filter(s => s.startsWith("v1a,"));
    const data = Buffer.from(`${h["webhook-id"]}.${h["webhook-timestamp"]}.${r.body}`);
    const ok = sigs.some(s => crypto.verify(null, data,
      fs.readFileSync(pub, "utf8"), Buffer.from(s.slice(4), "base64")));
    if (!ok) {
      console.log("v1a failed");
      process.exit(1);
    }
  }
  n++;
}
console.log("ok " + n);
