#!/usr/bin/env bash
# Installs the packed tarball into a fresh project and uses it the way users do: `import` from ESM
# and `require()` from CommonJS, each proxying one real request; then the same from TypeScript, compiled
# with the repository's tsc against the installed package's .d.ts (ESM .mts and CommonJS .cts, module
# nodenext) and run. Usage: smoke.sh TARBALL [NODE_BIN_DIR]
set -euo pipefail
tarball=$1
[ -n "${2:-}" ] && PATH="$2:$PATH"
here=$(cd "$(dirname "$0")" && pwd)
tsc="$here/../../node_modules/typescript/bin/tsc"
project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT

cd "$project"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$tarball" express@^5 @types/express@^5 @types/node@^22 >/dev/null
cp "$here/consumer.mjs" "$here/consumer.cjs" "$here/consumer-esm.mts" "$here/consumer-cjs.cts" .
cp "$here/tsconfig.consumers.json" tsconfig.json
echo "node $(node --version): ESM import"
node consumer.mjs
echo "node $(node --version): CommonJS require"
node consumer.cjs
echo "tsc $(node "$tsc" --version): TypeScript consumers against the packed .d.ts"
node "$tsc" -p tsconfig.json
test -f consumer-esm.mjs && test -f consumer-cjs.cjs
echo "node $(node --version): TypeScript ESM (.mts)"
node consumer-esm.mjs
echo "node $(node --version): TypeScript CommonJS (.cts)"
node consumer-cjs.cjs
# prom-client is an optional peer: the main entry above ran without it; the metrics subpath names it when
# missing, and serves the relay's metrics once it is installed.
echo "node $(node --version): mcp-header-relay/metrics without prom-client names what to install"
node --input-type=module -e "import('mcp-header-relay/metrics').then(() => process.exit(1), (e) => process.exit(/prom-client/.test(String(e)) ? 0 : 1))"
npm install --no-audit --no-fund --loglevel=error prom-client@^15 >/dev/null
echo "node $(node --version): mcp-header-relay/metrics with prom-client"
node --input-type=module -e "
import { mcpProxy } from 'mcp-header-relay';
import { relayMetrics } from 'mcp-header-relay/metrics';
const metrics = relayMetrics();
mcpProxy({ name: 'smoke', target: 'http://127.0.0.1:9/mcp', metrics, logger: { warn() {}, error() {} } });
const text = await metrics.registry.metrics();
if (!/mcp_relay_open_streams\{route=\"smoke\"\} 0/.test(text)) { console.error(text); process.exit(1); }
"
test -f node_modules/mcp-header-relay/dist/metrics/index.d.ts
# The Redis session store imports no Redis client (the user brings one): it loads in a project without
# redis or ioredis, and sends only EVALSHA/EVAL with a key of the store at args[3].
echo "node $(node --version): mcp-header-relay/redis without a Redis client installed"
test ! -e node_modules/redis && test ! -e node_modules/ioredis
node --input-type=module -e "
import { redisSessionStore } from 'mcp-header-relay/redis';
const sent = [];
const store = redisSessionStore({ prefix: 'smoke:', sendCommand: async (args) => (sent.push(args), 0) });
if ((await store.size()) !== 0 || sent.length !== 1 || sent[0][0] !== 'EVALSHA' || !sent[0][3].startsWith('smoke:{sessions}:')) {
  console.error(sent);
  process.exit(1);
}
"
test -f node_modules/mcp-header-relay/dist/redis/index.d.ts
# The gateway command from the tarball: its bin link, --version, and check on a file (no backend needed).
echo "node $(node --version): the mcp-header-relay command"
test "$(npx --no-install mcp-header-relay --version)" = "$(node -p "require('mcp-header-relay/package.json').version")"
printf 'listen: { port: 0 }\ncapture: { allow: [x-tenant] }\nroutes:\n  - { path: /b, name: smoke, target: "http://127.0.0.1:9/mcp", passthrough: [x-tenant] }\n' > relay.yaml
npx --no-install mcp-header-relay check relay.yaml | grep -q 'route smoke'
# A file with a sessionStore: check needs no Redis client; serve without node-redis says what to install.
printf 'listen: { port: 0 }\nsessionStore: { type: redis, urlEnv: SMOKE_REDIS_URL, sessionKeyEnv: SMOKE_SESSION_KEY }\nroutes:\n  - { path: /b, name: shared, target: "http://127.0.0.1:9/mcp", session: bind }\n' > shared.yaml
export SMOKE_REDIS_URL=redis://127.0.0.1:9 SMOKE_SESSION_KEY=0123456789abcdef0123456789abcdef
npx --no-install mcp-header-relay check shared.yaml | grep -q 'sessions: redis (URL from SMOKE_REDIS_URL'
if npx --no-install mcp-header-relay serve --config shared.yaml 2>shared.err; then echo "serve ran a sessionStore without node-redis" >&2; exit 1; fi
grep -q 'npm install redis' shared.err
# The JSON Schema of the file ships built, and is what the command prints.
test "$(cat node_modules/mcp-header-relay/dist/relay-config.schema.json)" = "$(npx --no-install mcp-header-relay schema)"
printf 'routes: []\n' > broken.yaml
if npx --no-install mcp-header-relay check broken.yaml 2>/dev/null; then echo "check accepted a broken file" >&2; exit 1; fi
# serve --demo from the tarball: without the MCP SDK it says what to install; with it, its backends answer through the gateway.
echo "node $(node --version): mcp-header-relay serve --demo"
if npx --no-install mcp-header-relay serve --demo --port 0 2>demo-missing.err; then echo "serve --demo ran without the SDK" >&2; exit 1; fi
grep -q 'npm install @modelcontextprotocol/sdk' demo-missing.err
npm install --no-audit --no-fund --loglevel=error @modelcontextprotocol/sdk@^1 >/dev/null
./node_modules/.bin/mcp-header-relay serve --demo --port 0 >demo.out 2>demo.err &
demo=$!
for _ in $(seq 1 100); do grep -q '"msg":"listening"' demo.out && break; sleep 0.1; done
url=$(grep '"msg":"listening"' demo.out | node -e 'process.stdin.on("data", (d) => console.log(JSON.parse(d).url))')
curl -sf "$url/search/mcp" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
  -H 'x-mcp-api-key: k' -H 'x-tenant: t' -H 'authorization: Bearer no' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}' | grep -q 'search received: x-mcp-api-key, x-tenant"'
kill -TERM "$demo"
wait "$demo"
# The published package holds the build and docs, and no sources or tests.
test -f node_modules/mcp-header-relay/dist/index.js
test -f node_modules/mcp-header-relay/dist/index.d.ts
test -f node_modules/mcp-header-relay/CHANGELOG.md
test -f node_modules/mcp-header-relay/SECURITY.md
test ! -e node_modules/mcp-header-relay/lib
test ! -e node_modules/mcp-header-relay/test
echo "package smoke test passed"
