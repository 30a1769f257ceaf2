// A workflow's draft beside its published specification, as a line diff of their JSON,
// and the Publish action (publish_workflow, which asks the user to confirm).
"use strict";

// Lines of ``before`` and ``after`` as [kind, line], kind " ", "-" or "+" (longest common
// subsequence; specifications are a few hundred lines at most).
function lineDiff(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  const lengths = Array.from({ length: a.length + 1 }, () => new Uint16Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i][j] =
        a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const lines = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) lines.push([" ", a[i++], j++]);
    else if (lengths[i + 1][j] >= lengths[i][j + 1]) lines.push(["-", a[i++]]);
    else lines.push(["+", b[j++]]);
  }
  while (i < a.length) lines.push(["-", a[i++]]);
  while (j < b.length) lines.push(["+", b[j++]]);
  return lines;
}

function specText(specification) {
  return specification ? JSON.stringify(specification, null, 2) : "";
}

function diffView(published, draft) {
  const lines = lineDiff(specText(published), specText(draft));
  const added = lines.filter(([kind]) => kind === "+").length;
  const removed = lines.filter(([kind]) => kind === "-").length;
  const names = { "+": "add", "-": "del", " ": "same" };
  return h(
    "div",
    {},
    h("p", { class: "muted" }, `Draft against published: ${added} line(s) added, ${removed} removed.`),
    h(
      "div",
      { class: "diff", role: "region", "aria-label": "Draft against published", tabindex: "0" },
      lines.map(([kind, line]) =>
        h("div", { class: names[kind] }, h("span", { "aria-hidden": "true" }, `${kind} `), line),
      ),
    ),
  );
}

// A workflow as a card: name, ref, diff of its draft and Publish; ``onChange`` gets the
// workflow again after publishing.
function workflowCard(workflow, onChange) {
  const draft = (workflow.details || {}).draft_specification;
  const card = h(
    "section",
    { class: "card", "aria-label": `Workflow ${workflow.name || workflow.ref}` },
    h(
      "header",
      {},
      h("h1", {}, workflow.name || workflow.ref),
      h("span", { class: "muted" }, workflow.ref),
      h("span", { class: "spacer" }),
      workflow.has_draft ? h("span", { class: "badge running" }, "draft") : h("span", { class: "badge" }, "published"),
    ),
  );
  if (draft) card.append(diffView(workflow.specification, draft));
  else if (workflow.has_draft) card.append(h("p", { class: "muted" }, "It has a draft, not shown by this platform."));
  else {
    card.append(h("p", { class: "muted" }, "No unpublished draft: this is what the workflow runs."));
    card.append(h("details", {}, h("summary", {}, "Specification"), h("pre", {}, specText(workflow.specification))));
  }
  if (workflow.has_draft) {
    card.append(
      h(
        "div",
        { class: "row" },
        actionButton(
          "Publish",
          async () => {
            showStatus("Publishing… the host asks you to confirm.");
            const published = await bridge.call("publish_workflow", { workflow: workflow.ref });
            showStatus(`Published ${published.ref}.`, "ok");
            onChange(published);
          },
          { class: "primary" },
        ),
        h("span", { class: "muted" }, "Replaces what the workflow runs, once you confirm."),
      ),
    );
  }
  return card;
}
