"""Prompt-injection tripwires. The defences that hold are elsewhere: least privilege (a tool's rights come only from
its caller: `tools.access`), separation (outside data reaches a model fenced and labelled: `kit.fence`), approval
(`requires_approval` tools pause the run) and limits (model requests, tool calls, tool time limits)."""
