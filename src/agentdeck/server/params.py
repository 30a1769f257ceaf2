"""Parameter types shared by the tools, so each name means the same thing everywhere."""

from typing import Annotated, Any

from pydantic import Field

BackendName = Annotated[
    str, Field(description="Name of a configured backend, as list_backends shows it.")
]
OptionalBackend = Annotated[
    str | None,
    Field(description="Name of a configured backend; omit to cover every backend."),
]
AgentRef = Annotated[
    str,
    Field(
        description=(
            "Ref of the agent, '<backend>:<id>', as list_agents shows it. "
            "A backend with one workspace agent (Roboflow) also takes its bare name."
        )
    ),
]
Limit = Annotated[int, Field(ge=1, le=200, description="How many items at most (1-200).")]
Cursor = Annotated[
    str | None,
    Field(description="The next_cursor of the previous page; omit for the first page."),
]
WaitSeconds = Annotated[
    float,
    Field(
        ge=0,
        le=600,
        description=(
            "How long to wait for the answer before returning what has streamed so far with "
            'status "running" (many clients cut tool calls off near 60 s).'
        ),
    ),
]
ConversationToContinue = Annotated[
    str | None,
    Field(
        description=(
            "Ref of the conversation to continue (the `conversation` of an earlier result); "
            "omit to start a new one."
        )
    ),
]
RunId = Annotated[str, Field(min_length=1, description="The run_id a chat returned.")]
Options = Annotated[
    dict[str, Any] | None,
    Field(description="Platform-specific settings; the accepted keys are listed above."),
]
