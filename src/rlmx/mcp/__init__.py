"""`rlmx mcp`: an RLM as tools for MCP clients (coding agents). Needs the [mcp] extra (the official `mcp` SDK).

This package is `rlmx.mcp`; its modules import the SDK by its absolute name (`mcp`), never relatively.
`roots` confines paths, `service` runs the tools' work without the SDK, `server` wires it to MCP.
"""
