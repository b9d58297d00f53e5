"""Talking to a vision-language model, one room per job:

- `messages`: the message protocol every caller speaks, and images as JPEG data URLs;
- `client`: `OpenAIChat`, the one client for any OpenAI-compatible endpoint (retries, Retry-After);
- `deadline`: one HTTP exchange under a hard wall-clock deadline;
- `adapt`: requests reshaped for servers that reject an optional parameter;
- `wire`: what a server answered (reply text, token counts, errors, Retry-After);
- `json_reply`: the JSON object a model meant, out of the text around it;
- `guard`: when to stop asking a VLM that keeps failing;
- `spec`: the client named by `models.vlm`.
"""
