"""Parameter types shared by the tools, so each name means the same thing everywhere."""

from typing import Annotated, Any

from pydantic import Field

BackendName = Annotated[str, Field(description="A backend's name, as list_backends shows it.")]
OptionalBackend = Annotated[
    str | None,
    Field(description="A backend's name; omit for all."),
]
AgentRef = Annotated[
    str,
    Field(
        description=(
            "Ref of the agent, '<backend>:<id>', from list_agents (or a one-agent backend's name)."
        )
    ),
]
Limit = Annotated[int, Field(ge=1, le=200, description="How many items at most.")]
Cursor = Annotated[
    str | None,
    Field(description="The previous page's next_cursor."),
]
WaitSeconds = Annotated[
    float,
    Field(
        ge=0,
        le=600,
        description=(
            'Seconds to wait for the answer before returning it so far with status "running".'
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
    # The description is written per configuration from the backends' declared options
    # (``server._surface``): it lists only the configured platforms' keys.
    Field(description="Platform-specific settings."),
]
