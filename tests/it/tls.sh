#!/usr/bin/env bash
# TLS in milepostd: listen takes tls: { cert, key, client_ca? }.  A test CA
# made here with openssl; curl --cacert succeeds, TLS below 1.2 and plain
# HTTP on the TLS port are refused, a client certificate is required where
# client_ca is set, and a certificate replaced and SIGHUPed is served to
# the next connection (a broken one keeps the running certificate).
. "$(dirname "$0")/lib.sh"
plan 25

P="$T/pki"
mkdir -p "$P"
# ca NAME: a self-signed CA.  leaf CA NAME CN: a certificate CA signs.
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$P/$1.key" -out "$P/$1.pem" -days 2 -subj "/CN=$1" 2>/dev/null
}
leaf() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$P/$2.key" -out "$P/$2.csr" -subj "/CN=$3" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$P/ext" &&
	openssl x509 -req -in "$P/$2.csr" -CA "$P/$1.pem" -CAkey "$P/$1.key" \
	    -set_serial "0x$(head -c 8 /dev/urandom | xxd -p)" -days 2 \
	    -extfile "$P/ext" -out "$P/$2.pem" 2>/dev/null
}
check "a test CA and certificates are made with openssl" \
	bash -c "$(declare -f ca leaf); P='$P'; ca ca && ca clientca && ca otherca &&
	    leaf ca server localhost && leaf ca server2 localhost-2 &&
	    leaf clientca client agent-1 && leaf otherca stranger agent-2"
cp "$P/server.pem" "$P/live.pem"
cp "$P/server.key" "$P/live.key"

cat > "$T/milepost.yaml" <<YAML
listen:
  - { address: "127.0.0.1:0", tls: { cert: "$P/live.pem", key: "$P/live.key" } }
  - address: "127.0.0.1:0"
    tls: { cert: "$P/server.pem", key: "$P/server.key", client_ca: "$P/clientca.pem" }
  - "127.0.0.1:0"
ledger: "$LEDGER_URL"
agent_secret: "$SECRET"
tokens:
  - { token: "$READER_TOKEN", role: reader }
limits: { header_timeout: 2s, timeout: 60s }
YAML
check "-n accepts the TLS listeners" "$MILEPOSTD" -n -c "$T/milepost.yaml"
start_daemon	# serves /healthz on the plain loopback listener, listed last
TLS=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (TLS).*/\1/p' "$T/milepostd.log" | sed -n 1p)
MTLS=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (TLS).*/\1/p' "$T/milepostd.log" | sed -n 2p)
check "both TLS listeners are logged as TLS" test -n "$TLS" -a -n "$MTLS"

r=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" "https://127.0.0.1:$TLS/healthz")
eq "curl --cacert against the test CA: /healthz over TLS" 200 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" \
    -H "Authorization: Bearer $READER_TOKEN" "https://localhost:$TLS/v1/evidence")
eq "a bearer read over TLS (name localhost)" 200 "$r"
URL="https://127.0.0.1:$TLS"
r=$(post tls-1 '{"type":"BuildStartedEvent","subject":"b-tls","properties":{"buildId":"b-tls"}}' --cacert "$P/ca.pem")
eq "a signed POST over TLS is stored" 202 "${r%% *}"
eq "and it is in the ledger" 1 "$(rows "id = 'tls-1'")"
URL="http://127.0.0.1:$PORT"
curl -s -o /dev/null "https://127.0.0.1:$TLS/healthz"
eq "without the CA, curl refuses the certificate (60)" 60 "$?"
curl -s -o /dev/null --tlsv1.1 --tls-max 1.1 --cacert "$P/ca.pem" "https://127.0.0.1:$TLS/healthz"
rc=$?
check "TLS 1.1 is refused (curl $rc)" test "$rc" -ne 0
r=$(curl -s -o /dev/null -w '%{http_code}' --tlsv1.2 --tls-max 1.2 --cacert "$P/ca.pem" "https://127.0.0.1:$TLS/healthz")
eq "TLS 1.2 is served" 200 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' --tlsv1.3 --cacert "$P/ca.pem" "https://127.0.0.1:$TLS/healthz")
eq "TLS 1.3 is served" 200 "$r"
# The dashboard's session cookie is Secure over TLS, and only there.
curl -s -D "$T/tls-hc" -o /dev/null --cacert "$P/ca.pem" -X POST \
    -H "Authorization: Bearer $READER_TOKEN" "https://127.0.0.1:$TLS/session"
check "a sign-in over TLS sets a Secure session cookie" \
	grep -qiE '^set-cookie: mp_session=[0-9a-f]+;.*; Secure' "$T/tls-hc"
r=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$TLS/healthz")
check "plain HTTP on the TLS port is not served ($r)" test "$r" != 200

# A TLS handshake counts against header_timeout (2 s) from the accept:
# a client that connects and never finishes it is closed well before the
# idle timeout (60 s).
python3 - "$TLS" > "$T/hs" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(20)
t = time.time()
try:
    data = s.recv(1)
except socket.timeout:
    data = None
print("closed" if data == b"" else "open", int(time.time() - t))
PY
read -r state secs < "$T/hs"
check "a stalled TLS handshake is closed by header_timeout ($state after $secs s)" \
	test "$state" = closed -a "$secs" -lt 15

# client_ca: a client certificate from that CA is required.
curl -s -o /dev/null --max-time 5 --cacert "$P/ca.pem" "https://127.0.0.1:$MTLS/healthz"
rc=$?
check "client_ca: no client certificate, no service (curl $rc)" test "$rc" -ne 0
r=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" \
    --cert "$P/client.pem" --key "$P/client.key" "https://127.0.0.1:$MTLS/healthz")
eq "client_ca: a certificate from the client CA is served" 200 "$r"
curl -s -o /dev/null --max-time 5 --cacert "$P/ca.pem" \
    --cert "$P/stranger.pem" --key "$P/stranger.key" "https://127.0.0.1:$MTLS/healthz"
rc=$?
check "client_ca: a certificate from another CA is refused (curl $rc)" test "$rc" -ne 0

# serial PORT: the serial of the certificate a new connection is served.
serial() {
	openssl s_client -connect "127.0.0.1:$1" -CAfile "$P/ca.pem" </dev/null 2>/dev/null |
	    openssl x509 -noout -serial
}
before=$(serial "$TLS")
same "the running certificate is server.pem" "$(openssl x509 -noout -serial -in "$P/server.pem")" "$before"
# Replace the files, SIGHUP: the next connection gets the new certificate.
cp "$P/server2.pem" "$P/live.pem"
cp "$P/server2.key" "$P/live.key"
kill -HUP "$DPID"
for _ in $(seq 300); do grep -q "reloaded" "$T/milepostd.log" && break; sleep 0.1; done
after=$(serial "$TLS")
same "after SIGHUP the next connection is served the new certificate" \
	"$(openssl x509 -noout -serial -in "$P/server2.pem")" "$after"

# A broken certificate: the reload fails, naming the file; the running one
# stays.
echo "not a certificate" > "$P/live.pem"
kill -HUP "$DPID"
for _ in $(seq 300); do grep -q "reload failed" "$T/milepostd.log" && break; sleep 0.1; done
check "a broken certificate fails the reload, naming the file" \
	grep -q "reload failed.*listen 127.0.0.1:0: tls.cert $P/live.pem" "$T/milepostd.log"
same "and the running certificate is still served" "$after" "$(serial "$TLS")"
check "the daemon stops cleanly" stop_daemon

# Configuration: keys checked with the nearest valid one; files at -n.
sed -i "s|key: \"$P/server.key\", client_ca|kye: \"$P/server.key\", client_ca|" "$T/milepost.yaml"
"$MILEPOSTD" -n -c "$T/milepost.yaml" 2> "$T/err"
check "an unknown tls key fails -n at its line, with did you mean" \
	grep -q "milepost.yaml:4: listen\[1\]\.tls\.kye: unknown key kye (did you mean key?" "$T/err"
cat > "$T/bad.yaml" <<YAML
listen: { address: "127.0.0.1:0", tls: { cert: "$P/missing.pem", key: "$P/server.key" } }
YAML
"$MILEPOSTD" -n -c "$T/bad.yaml" 2> "$T/err"
check "-n names a certificate file that does not load" grep -q "tls.cert $P/missing.pem" "$T/err"

# A plain listener off loopback is served, with a warning.
cat > "$T/open.yaml" <<YAML
listen: "0.0.0.0:0"
ledger: "sqlite:$T/open.db"
YAML
"$MILEPOSTD" -c "$T/open.yaml" 2> "$T/open.log" &
opid=$!
for _ in $(seq 300); do grep -q "listening on" "$T/open.log" && break; sleep 0.1; done
kill "$opid"; wait "$opid"
check "a plain non-loopback listener is warned about" \
	grep -q "listen 0.0.0.0:0: plain HTTP on a non-loopback address" "$T/open.log"
finish
