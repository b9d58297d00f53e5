"""The policy that asks a VLM for each action, showing it the evidence and the frames it chose."""

from __future__ import annotations

from app.agent import AgentState, Policy, describe
from app.prompts import FORCE, context_prompt, system_prompt, user_prompt
from app.toolbox import Action, action_schemas
from perception.errors import LongshotError, ModelOutputError, VLMError
from perception.vlm.guard import VLMGuard
from perception.vlm.json_reply import parse_json_reply
from perception.vlm.messages import ImagePart, Message


class VLMPolicy:
    name = "vlm"

    def __init__(self, vlm, fallback: Policy, tools: list[dict] | None = None):
        """`fallback` answers from the evidence when the model cannot be made to answer, and takes
        over the question when the endpoint fails (down, 5xx after retries, timed out)."""
        self.vlm = vlm
        self.fallback = fallback
        self.system = system_prompt(tools if tools is not None else action_schemas())
        # The user waits through every try, and the client has already retried and waited its
        # bounded time: one endpoint failure is enough. A reply that is not a valid action is
        # not the guard's business: it goes back to the model as an error observation, and the
        # agent's max_invalid bounds how many of those a question sits through.
        self.guard = VLMGuard(give_up_after=1)

    def next_action(self, state: AgentState) -> Action:
        if not self.guard.allows("action"):
            return self.fallback.next_action(state)
        try:
            action = self._ask(state, force=False)
        except VLMError as err:
            self.guard.failed("action", err)
            raise  # the error becomes this round's step
        self.guard.succeeded("action")
        return action

    def force_answer(self, state: AgentState) -> Action:
        if self.guard.allows("action"):
            try:
                action = self._ask(state, force=True)
                if action.name == "answer":
                    return action
            except LongshotError:
                pass
        return self.fallback.force_answer(state)

    def _ask(self, state: AgentState, force: bool) -> Action:
        last = state.steps[-1] if state.steps else None
        text = user_prompt(
            state.question,
            state.options,
            [describe(e, i) for i, e in enumerate(state.evidence)],
            steps_left=0 if force else state.max_steps - len(state.steps),
            context=context_prompt(state.duration, state.scales, state.until),
            error=last.error if last else None,
        )
        content: list = [text]
        content += [ImagePart(image, label=caption) for image, caption in state.images]
        if force:
            content.append(FORCE)
        reply = self.vlm.chat([Message("system", (self.system,)), Message("user", tuple(content))], json_mode=True)
        state.usage["prompt_tokens"] += reply.prompt_tokens
        state.usage["completion_tokens"] += reply.completion_tokens
        return parse_action(reply.text)


def parse_action(text: str) -> Action:
    """`{"action": name, "args": {...}}`; also accepts the tool-call shape `{"name": ..., "arguments": ...}`."""
    data = parse_json_reply(text)
    name = data.get("action", data.get("name"))
    args = data.get("args", data.get("arguments", {}))
    if not isinstance(name, str) or not isinstance(args, dict):
        raise ModelOutputError(f'expected {{"action": str, "args": object}}, got {text[:200]!r}')
    return Action(name, args)
