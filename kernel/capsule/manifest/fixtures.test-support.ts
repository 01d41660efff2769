// Shared by the manifest and archive tests; never exported from index.ts.

/** A manifest that uses every table and key of Capsule.toml. */
export const FULL_MANIFEST = `
[package]
name = "weather-tools"
version = "0.3.1-rc.1"
description = "Weather lookups for agents"
authors = ["Example Org <dev@example.org>"]
license = "MIT"
repository = "https://example.org/weather-tools"
astrid-version = ">=0.1.0 <2"

[capabilities]
ipc_publish = ["weather.v1.forecast.>", "weather.v1.status"]
ipc_subscribe = ["weather.v1.request.*"]
kv = ["weather-cache"]
fs = [{ path = "data", rights = ["read", "list"] }, { path = ".", rights = ["read"] }]
net = ["api.weather.example", "*.tiles.example:443"]
host_process = ["node", "./bin/mcp-server"]
uplink = false

[[component]]
id = "main"
wasm = "weather.wasm"

[component.capabilities]
net = ["api.backup.example"]
fs = [{ path = "data", rights = ["write", "create"] }]

[[component]]
id = "helper"
process = { command = "node", args = ["helper.js", "--quiet"] }

[[handler]]
subject = "weather.v1.request.*"
function = "handle_request"
component = "main"

[[tool]]
name = "get_forecast"
description = "Forecast for a city"
input_schema = { type = "object", properties = { city = { type = "string" } }, required = ["city"] }

[env.API_KEY]
description = "Weather API key"
required = true
secret = true

[env.UNITS]
description = "metric or imperial"
default = "metric"

[[mcp_server]]
id = "tiles"
description = "Map tiles over MCP"
command = "./bin/mcp-server"
args = ["--stdio"]
env = ["API_KEY"]

[[context_file]]
name = "weather-guidance"
file = "docs/WEATHER.md"

[[skill]]
name = "forecast"
description = "How to read a forecast"
file = "skills/forecast.md"

[limits]
call_timeout_ms = 5000
memory_pages = 256
publish_payload_bytes = 65536
publish_msgs_per_sec = 100
publish_bytes_per_sec = 1048576
subscriptions = 16
`;

/** The smallest valid manifest with one wasm component. */
export function minimalManifest(name = 'hello', wasm = 'hello.wasm'): string {
  return `[package]\nname = "${name}"\nversion = "0.1.0"\n\n[[component]]\nid = "main"\nwasm = "${wasm}"\n`;
}
