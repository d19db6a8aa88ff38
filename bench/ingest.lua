-- ingest.lua: a wrk script that sends unique, freshly signed evidence
-- (Standard Webhooks, HMAC-SHA256 through LuaJIT's FFI to libcrypto), about
-- 400 bytes each.  The key comes from MP_SECRET ("whsec_<base64>").
-- The same stream is sent to nginx, which ignores the signature.
local ffi = require("ffi")
ffi.cdef[[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *md, const void *key, int key_len,
    const unsigned char *d, size_t n, unsigned char *out, unsigned int *outlen);
int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n);
int EVP_DecodeBlock(unsigned char *t, const unsigned char *f, int n);
]]
local crypto = ffi.load("libcrypto.so.3")

local secret = os.getenv("MP_SECRET") or error("MP_SECRET is not set")
local b64 = secret:gsub("^whsec_", "")
local keybuf = ffi.new("unsigned char[?]", #b64)
local keylen = crypto.EVP_DecodeBlock(keybuf, b64, #b64)
local pad = select(2, b64:gsub("=", ""))
keylen = keylen - pad

local mac = ffi.new("unsigned char[32]")
local maclen = ffi.new("unsigned int[1]")
local sig = ffi.new("unsigned char[64]")
local counter = 0
local prefix

function init(args)
	math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
	prefix = string.format("%08x%04x", math.random(0, 0x7fffffff),
	    math.random(0, 0xffff))
end

local body_fmt = '{"type":"BuildCompleted","subject":"bench-%s-%d",' ..
	'"properties":{"buildStatus":"success","duration":"%ds","exitCode":0},' ..
	'"links":{"commit":"9fceb02d0ae598e95dc970b74767f19372d61af8",' ..
	'"branch":"main","repo":"acme/shop","service":"checkout",' ..
	'"pipeline":"https://ci.example.com/acme/shop/builds/%d",' ..
	'"environment":"production"}}'
-- INGEST_EVIDENCE=started (bench/push): BuildStartedEvent instead, so that
-- every request creates a BuildLifecycle claim (and a change to push).
if os.getenv("INGEST_EVIDENCE") == "started" then
	body_fmt = '{"type":"BuildStartedEvent","subject":"push-%s-%d",' ..
		'"properties":{"buildId":"b%d"},' ..
		'"links":{"commit":"9fceb02d0ae598e95dc970b74767f19372d61af8",' ..
		'"branch":"main","repo":"acme/shop","service":"checkout",' ..
		'"pipeline":"https://ci.example.com/acme/shop/builds/%d",' ..
		'"environment":"production"}}'
end

function request()
	counter = counter + 1
	local id = "msg_" .. prefix .. "_" .. counter
	local ts = tostring(os.time())
	local body = string.format(body_fmt, prefix, counter, counter % 900,
	    counter)
	local content = id .. "." .. ts .. "." .. body
	crypto.HMAC(crypto.EVP_sha256(), keybuf, keylen, content, #content,
	    mac, maclen)
	local n = crypto.EVP_EncodeBlock(sig, mac, 32)
	local headers = {
		["Content-Type"] = "application/json",
		["webhook-id"] = id,
		["webhook-timestamp"] = ts,
		["webhook-signature"] = "v1," .. ffi.string(sig, n),
	}
	return wrk.format("POST", "/v1/evidence", headers, body)
end

local codes = {}
function response(status, headers, body)
	codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
	io.write(string.format("p99_ms %.3f\n", latency:percentile(99) / 1000))
	io.write(string.format("p50_ms %.3f\n", latency:percentile(50) / 1000))
	io.write(string.format("rps %.1f\n",
	    summary.requests / (summary.duration / 1e6)))
	io.write(string.format("non2xx %d\n", summary.errors.status))
	io.write(string.format("socket_errors %d\n", summary.errors.connect +
	    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
