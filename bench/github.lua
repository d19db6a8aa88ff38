-- github.lua: a wrk script sending unique GitHub push deliveries of about
-- 2 KB, each signed as GitHub signs (X-Hub-Signature-256: sha256=<hex
-- HMAC-SHA256 of the body>) through LuaJIT's FFI to libcrypto.  The secret
-- comes from GH_SECRET.  The same stream goes to milepostd, to
-- adnanh/webhook (payload-hmac-sha256 rule) and to nginx.
local ffi = require("ffi")
ffi.cdef[[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *md, const void *key, int key_len,
    const unsigned char *d, size_t n, unsigned char *out, unsigned int *outlen);
]]
local crypto = ffi.load("libcrypto.so.3")
local secret = os.getenv("GH_SECRET") or error("GH_SECRET is not set")
local path = os.getenv("GH_PATH") or "/hooks/github"
local mac = ffi.new("unsigned char[32]")
local maclen = ffi.new("unsigned int[1]")
local counter = 0
local prefix

function init(args)
	math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
	prefix = string.format("%08x", math.random(0, 0x7fffffff))
end

local function hex(p, n)
	local t = {}
	for i = 0, n - 1 do t[#t + 1] = string.format("%02x", p[i]) end
	return table.concat(t)
end

-- A push of one commit, shaped like GitHub's (trimmed to the usual fields).
local body_fmt = [[{"ref":"refs/heads/main","before":"%s","after":"%s",]] ..
	[["repository":{"id":35129377,"node_id":"MDEwOlJlcG9zaXRvcnkzNTEyOTM3Nw==",]] ..
	[["name":"shop","full_name":"acme/shop","private":false,]] ..
	[["owner":{"name":"acme","email":"ops@acme.example","login":"acme","id":21031067},]] ..
	[["html_url":"https://github.com/acme/shop","description":"The shop",]] ..
	[["url":"https://github.com/acme/shop","created_at":1430869212,]] ..
	[["updated_at":"2025-07-01T08:00:00Z","pushed_at":1751356800,]] ..
	[["default_branch":"main","master_branch":"main"},]] ..
	[["pusher":{"name":"ann","email":"ann@acme.example"},]] ..
	[["sender":{"login":"ann","id":1,"type":"User","site_admin":false},]] ..
	[["created":false,"deleted":false,"forced":false,"base_ref":null,]] ..
	[["compare":"https://github.com/acme/shop/compare/%s...%s",]] ..
	[["commits":[{"id":"%s","tree_id":"f9d2a07e9488b91af2641b26b9407fe22a451433",]] ..
	[["distinct":true,"message":"Fix checkout totals for bundles SHOP-%d\n\n]] ..
	[[Rounding was applied per line; apply it once per basket.\n\nMilestone: M-42",]] ..
	[["timestamp":"2025-07-01T10:00:00+02:00",]] ..
	[["url":"https://github.com/acme/shop/commit/%s",]] ..
	[["author":{"name":"Ann Example","email":"ann@acme.example","username":"ann"},]] ..
	[["committer":{"name":"Ann Example","email":"ann@acme.example","username":"ann"},]] ..
	[["added":[],"removed":[],"modified":["src/basket.c","src/totals.c","tests/basket.c"]}],]] ..
	[["head_commit":{"id":"%s","message":"Fix checkout totals for bundles",]] ..
	[["timestamp":"2025-07-01T10:00:00+02:00"}}]]

function request()
	counter = counter + 1
	local sha = string.format("%s%032x", prefix, counter)
	local body = string.format(body_fmt, sha, sha, sha, sha, sha, counter,
	    sha, sha)
	crypto.HMAC(crypto.EVP_sha256(), secret, #secret, body, #body, mac,
	    maclen)
	local headers = {
		["Content-Type"] = "application/json",
		["User-Agent"] = "GitHub-Hookshot/bench",
		["X-GitHub-Event"] = "push",
		["X-GitHub-Delivery"] = prefix .. "-" .. counter,
		["X-Hub-Signature-256"] = "sha256=" .. hex(mac, 32),
	}
	return wrk.format("POST", path, headers, body)
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
