"""Longshot for agent hosts (Claude Desktop, Cursor, any MCP client): `longshot mcp` serves the library's
abilities as MCP tools and resources (`app.mcp.server`), their results as JSON and images (`app.mcp.views`)."""
