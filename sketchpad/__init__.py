"""The sketchpad: a canvas the agent draws on, and the vision tools that draw their results.

`Canvas` holds an image and an ordered, replayable list of drawing operations;
`side_by_side` puts video frames in a row with their timestamps; `run_tool` runs a tool
from `tool_schemas()` on untrusted arguments a model sent.
"""

from sketchpad.canvas import Canvas, side_by_side
from sketchpad.palette import COLOR_NAMES, PALETTE
from sketchpad.tools import TOOLS, FrameSource, ToolContext, ToolResult, run_tool, tool_schemas

__all__ = [
    "COLOR_NAMES",
    "PALETTE",
    "TOOLS",
    "Canvas",
    "FrameSource",
    "ToolContext",
    "ToolResult",
    "run_tool",
    "side_by_side",
    "tool_schemas",
]
