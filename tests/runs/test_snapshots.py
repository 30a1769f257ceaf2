"""A run's snapshot as the replicas share it through the store: its JSON reads back as the
same snapshot, and rows written in the chat result's form (refs) still read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from agentdeck.model import ApprovalRequired, QuestionAsked, WorkflowDraft
from agentdeck.runs import RunSnapshot, ToolActivity
from agentdeck.server.chat import RunResult

STARTED = datetime(2026, 4, 12, 17, 5, 33, tzinfo=UTC)


def snapshot() -> RunSnapshot:
    return RunSnapshot(
        run_id="r1",
        backend="vision",
        agent_id="agent:1",
        status="running",
        started_at=STARTED,
        conversation_id="c:7",
        text="Made it.",
        tool_calls=[ToolActivity(id="t1", name="build", arguments={"a": 1}, result="ok")],
        pending_approvals=[ApprovalRequired(approval_id="a:9", tool="deploy", arguments={})],
        pending_questions=[QuestionAsked(question_id="q1", question="Which camera?")],
        artifacts=[WorkflowDraft(backend="vision", id="wf1", url="detect-cars", specification={})],
        usage={"tokens": 3},
        warnings=["slow"],
        details={"mode": "agent"},
    )


def test_a_snapshot_reads_back_from_its_json_with_its_artifacts_kinds() -> None:
    shared = snapshot()
    read = RunSnapshot.from_json(json.loads(shared.to_json()))
    assert read == shared
    assert isinstance(read.artifacts[0], WorkflowDraft)


def test_a_row_written_in_the_chat_result_form_reads_as_the_same_snapshot() -> None:
    shared = snapshot()
    previous_form = json.loads(RunResult.of(shared).model_dump_json())
    assert previous_form["agent"] == "vision:agent:1"  # refs, as rows were written before
    assert RunSnapshot.from_json(previous_form) == shared
