"""Archy's workflow YAML, as Architect's publish job reads it: parsed with a real YAML parser (PyYAML's safe loader),
checked against the workflow format, and evaluated when a simulated call runs the published workflow.

What is checked (reference §12 "Archy workflow YAML"; the blueprint examples show the format):
- the document is a mapping with the one key `workflow`;
- `workflow` has `name`, `division`, `startUpRef`, `defaultLanguage`, `states` (and optionally `description`,
  `supportedLanguages`, `variables`, `settingsErrorHandling`); the division must exist in the org (by name);
- `variables` are typed (`stringVariable`, `integerVariable`, ...) with a `Flow.` name and boolean `isInput` /
  `isOutput`;
- `startUpRef` is `/workflow/states/state[<refId>]` of a state that exists;
- actions are `callData` or `endWorkflow`; a `callData` names `category` → `dataAction` → its inputs and
  `successOutputs`, and has the outputs `success`, `failure` and `timeout`;
- expressions name declared variables; `successOutputs` write to declared variables;
- any other key is reported as unknown, with its path.
Errors refuse the publish. Actions after one that always ends the workflow are reported as warnings: the publish
goes on (whether Architect refuses or only warns about them is uncertain).

The simulator evaluates a small part of Architect's expression language: `Flow.<variable>` (with `.field` into a
JSON variable), string and integer literals, and `ToString(...)`. Anything else is refused with a message saying the
simulator does not evaluate it: a real org may accept it, so keep the shipped workflow to that subset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

WORKFLOW_KEYS = {
    "name",
    "description",
    "division",
    "startUpRef",
    "defaultLanguage",
    "supportedLanguages",
    "variables",
    "settingsErrorHandling",
    "states",
}
REQUIRED_WORKFLOW_KEYS = ("name", "division", "startUpRef", "defaultLanguage", "states")
VARIABLE_TYPES = {
    "stringVariable": str,
    "integerVariable": int,
    "booleanVariable": bool,
    "decimalVariable": float,
    "dateTimeVariable": str,
    "durationVariable": str,
    "jsonVariable": dict,
}
VARIABLE_KEYS = {"name", "initialValue", "isInput", "isOutput", "description"}
STATE_KEYS = {"name", "refId", "actions"}
CALL_DATA_KEYS = {"name", "timeout", "category", "outputs"}
CALL_DATA_OUTPUTS = ("success", "failure", "timeout")
DATA_ACTION_KEYS = {"inputs", "successOutputs", "failureOutputs"}
END_WORKFLOW_KEYS = {"name", "exitReason"}
ACTION_TYPES = ("callData", "endWorkflow")
START_UP_REF = re.compile(r"^/workflow/states/state\[(?P<ref>[^\]]+)\]$")
VARIABLE_REFERENCE = re.compile(r"\bFlow\.[A-Za-z_][A-Za-z0-9_]*")
MAX_YAML_BYTES = 1024 * 1024


@dataclass
class Problem:
    text: str
    path: str
    severity: str = "Error"


@dataclass
class Workflow:
    """A checked workflow: the parsed document and what the checks found."""

    document: dict[str, Any]
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any]:
        return self.document.get("workflow") or {}

    @property
    def name(self) -> str:
        return str(self.body.get("name") or "")

    def variables(self) -> dict[str, tuple[str, dict]]:
        """`Flow.x` → (type key, its declaration)."""
        found = {}
        for item in self.body.get("variables") or []:
            if isinstance(item, dict) and len(item) == 1:
                (kind, spec), *_ = item.items()
                if isinstance(spec, dict) and isinstance(spec.get("name"), str):
                    found[spec["name"]] = (kind, spec)
        return found

    def call_data_actions(self) -> list[dict]:
        """Every callData action (its body), in document order, nested outputs included."""
        found: list[dict] = []

        def walk(actions: Any) -> None:
            for action in actions if isinstance(actions, list) else []:
                body = action.get("callData") if isinstance(action, dict) else None
                if isinstance(body, dict):
                    found.append(body)
                    for output in (body.get("outputs") or {}).values():
                        walk((output or {}).get("actions"))

        for state in self.body.get("states") or []:
            walk(((state or {}).get("state") or {}).get("actions"))
        return found


def data_action_of(call_data: dict) -> tuple[str, str, dict]:
    """(category, data action name, its {inputs, successOutputs, ...}) of a checked callData action."""
    ((category, holder),) = call_data["category"].items()
    ((action_name, spec),) = holder["dataAction"].items()
    return category, action_name, spec or {}


def parse(text: str | bytes, *, division_names: set[str]) -> Workflow:
    """Parse and check an uploaded workflow. Never raises: problems are in `errors` and `warnings`."""
    if isinstance(text, bytes):
        if len(text) > MAX_YAML_BYTES:
            return Workflow({}, errors=[Problem(f"The file is larger than {MAX_YAML_BYTES} bytes.", "")])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return Workflow({}, errors=[Problem("The file is not UTF-8 text.", "")])
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return Workflow({}, errors=[Problem(f"The file is not valid YAML{where}: {error}", "")])
    workflow = Workflow(document if isinstance(document, dict) else {})
    _Checker(workflow, division_names).check(document)
    return workflow


class _Checker:
    def __init__(self, workflow: Workflow, division_names: set[str]) -> None:
        self.workflow = workflow
        self.division_names = division_names
        self.variables: dict[str, tuple[str, dict]] = {}

    def error(self, text: str, path: str) -> None:
        self.workflow.errors.append(Problem(text, path))

    def unknown_keys(self, mapping: dict, allowed: set[str], path: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.error(f"Unknown key '{key}'; expected one of: {', '.join(sorted(allowed))}.", f"{path}.{key}")

    def check(self, document: Any) -> None:
        if not isinstance(document, dict) or "workflow" not in document:
            self.error("The file must be a mapping with the top-level key 'workflow'.", "")
            return
        self.unknown_keys(document, {"workflow"}, "")
        body = document["workflow"]
        if not isinstance(body, dict):
            self.error("'workflow' must be a mapping.", "workflow")
            return
        self.unknown_keys(body, WORKFLOW_KEYS, "workflow")
        for key in REQUIRED_WORKFLOW_KEYS:
            if body.get(key) in (None, "", []):
                self.error(f"'{key}' is required.", f"workflow.{key}")
        division = body.get("division")
        if isinstance(division, str) and division and division not in self.division_names:
            self.error(
                f"Unable to find a division named '{division}' in this organization; "
                f"divisions: {', '.join(sorted(self.division_names))}.",
                "workflow.division",
            )
        languages = body.get("supportedLanguages")
        if isinstance(languages, dict) and body.get("defaultLanguage") not in languages:
            self.error("'defaultLanguage' must be one of 'supportedLanguages'.", "workflow.defaultLanguage")
        self.check_variables(body.get("variables"))
        self.check_states(body.get("states"), body.get("startUpRef"))

    def check_variables(self, variables: Any) -> None:
        if variables is None:
            return
        if not isinstance(variables, list):
            self.error("'variables' must be a list.", "workflow.variables")
            return
        for index, item in enumerate(variables):
            path = f"workflow.variables[{index}]"
            if not isinstance(item, dict) or len(item) != 1:
                self.error("Each variable is a mapping with one key, its type (e.g. stringVariable).", path)
                continue
            ((kind, spec),) = item.items()
            if kind not in VARIABLE_TYPES:
                self.error(f"Unknown variable type '{kind}'; known: {', '.join(VARIABLE_TYPES)}.", path)
                continue
            if not isinstance(spec, dict):
                self.error(f"'{kind}' must be a mapping.", f"{path}.{kind}")
                continue
            self.unknown_keys(spec, VARIABLE_KEYS, f"{path}.{kind}")
            name = spec.get("name")
            if not isinstance(name, str) or not re.fullmatch(r"Flow\.[A-Za-z_][A-Za-z0-9_]*", name):
                self.error(f"A variable's name must be Flow.<name>; got {name!r}.", f"{path}.{kind}.name")
                continue
            for flag in ("isInput", "isOutput"):
                if flag in spec and not isinstance(spec[flag], bool):
                    self.error(f"'{flag}' must be true or false.", f"{path}.{kind}.{flag}")
            if name in self.variables:
                self.error(f"The variable {name} is declared twice.", f"{path}.{kind}.name")
            self.variables[name] = (kind, spec)

    def check_states(self, states: Any, start_up_ref: Any) -> None:
        if not isinstance(states, list) or not states:
            self.error("'states' must be a non-empty list.", "workflow.states")
            return
        ref_ids = set()
        for index, item in enumerate(states):
            path = f"workflow.states[{index}]"
            state = item.get("state") if isinstance(item, dict) and len(item) == 1 else None
            if not isinstance(state, dict):
                self.error("Each state is a mapping with the one key 'state'.", path)
                continue
            self.unknown_keys(state, STATE_KEYS, f"{path}.state")
            for key in ("name", "refId"):
                if not state.get(key):
                    self.error(f"A state needs '{key}'.", f"{path}.state.{key}")
            ref_ids.add(state.get("refId"))
            self.check_actions(state.get("actions"), f"{path}.state.actions")
        match = START_UP_REF.match(start_up_ref) if isinstance(start_up_ref, str) else None
        if match is None:
            self.error("'startUpRef' must be /workflow/states/state[<refId>].", "workflow.startUpRef")
        elif match["ref"] not in ref_ids:
            self.error(f"'startUpRef' names the state '{match['ref']}', which does not exist.", "workflow.startUpRef")

    def check_actions(self, actions: Any, path: str) -> bool:
        """Check a sequence; returns whether it always ends the workflow."""
        if not isinstance(actions, list):
            self.error("'actions' must be a list.", path)
            return False
        ends = False
        for index, item in enumerate(actions):
            here = f"{path}[{index}]"
            if ends:
                self.workflow.warnings.append(
                    Problem(
                        "This action is unreachable: the actions before it always end the workflow.", here, "Warning"
                    )
                )
            if not isinstance(item, dict) or len(item) != 1:
                self.error("Each action is a mapping with one key, its type.", here)
                continue
            ((kind, body),) = item.items()
            if kind not in ACTION_TYPES:
                self.error(f"Unknown action '{kind}'; the simulator knows: {', '.join(ACTION_TYPES)}.", here)
                continue
            if not isinstance(body, dict):
                self.error(f"'{kind}' must be a mapping.", f"{here}.{kind}")
                continue
            if kind == "endWorkflow":
                self.unknown_keys(body, END_WORKFLOW_KEYS, f"{here}.endWorkflow")
                self.check_value(body.get("exitReason"), f"{here}.endWorkflow.exitReason", optional=True)
                ends = True
            else:
                ends = self.check_call_data(body, f"{here}.callData") or ends
        return ends

    def check_call_data(self, body: dict, path: str) -> bool:
        self.unknown_keys(body, CALL_DATA_KEYS, path)
        if not body.get("name"):
            self.error("A callData action needs 'name'.", f"{path}.name")
        category = body.get("category")
        holder = next(iter(category.values())) if isinstance(category, dict) and len(category) == 1 else None
        data_action = holder.get("dataAction") if isinstance(holder, dict) else None
        if not isinstance(data_action, dict) or len(data_action) != 1:
            self.error(
                "'category' must name one category, then 'dataAction' and one data action: "
                "category: {<category>: {dataAction: {<data action>: {inputs: ...}}}}.",
                f"{path}.category",
            )
        else:
            self.unknown_keys(holder, {"dataAction"}, f"{path}.category.{next(iter(category))}")
            ((action_name, spec),) = data_action.items()
            spec_path = f"{path}.category.{next(iter(category))}.dataAction.{action_name}"
            spec = spec or {}
            if not isinstance(spec, dict):
                self.error("A data action's settings must be a mapping.", spec_path)
            else:
                self.unknown_keys(spec, DATA_ACTION_KEYS, spec_path)
                for name, value in (spec.get("inputs") or {}).items():
                    self.check_value(value, f"{spec_path}.inputs.{name}")
                for kind in ("successOutputs", "failureOutputs"):
                    for name, target in (spec.get(kind) or {}).items():
                        variable = target.get("var") if isinstance(target, dict) else None
                        if variable not in self.variables:
                            self.error(
                                f"The output '{name}' must go to a declared variable (var: Flow.<name>).",
                                f"{spec_path}.{kind}.{name}",
                            )
        if "timeout" in body:
            self.check_value(body["timeout"], f"{path}.timeout")
        outputs = body.get("outputs")
        if not isinstance(outputs, dict):
            self.error("A callData action needs 'outputs' with success, failure and timeout.", f"{path}.outputs")
            return False
        self.unknown_keys(outputs, set(CALL_DATA_OUTPUTS), f"{path}.outputs")
        ends = True
        for name in CALL_DATA_OUTPUTS:
            if name not in outputs:
                self.error(f"The callData output '{name}' is missing.", f"{path}.outputs.{name}")
                ends = False
                continue
            output = outputs[name] or {}
            if not isinstance(output, dict):
                self.error(f"The output '{name}' must be a mapping with 'actions'.", f"{path}.outputs.{name}")
                ends = False
                continue
            self.unknown_keys(output, {"actions"}, f"{path}.outputs.{name}")
            ends = self.check_actions(output.get("actions") or [], f"{path}.outputs.{name}.actions") and ends
        return ends

    def check_value(self, value: Any, path: str, *, optional: bool = False) -> None:
        """A value is {exp: <expression>}, {lit: <literal>} or {noValue: true}."""
        if value is None and optional:
            return
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("exp", "lit", "noValue"):
            self.error("A value is one of {exp: ...}, {lit: ...} or {noValue: true}.", path)
            return
        if "exp" in value:
            expression = str(value["exp"])
            for name in VARIABLE_REFERENCE.findall(expression):
                if name not in self.variables:
                    self.error(f"The expression uses {name}, which is not declared.", path)
            try:
                parse_expression(expression)
            except ExpressionError as error:
                self.error(str(error), path)


class ExpressionError(ValueError):
    pass


_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+)|(?P<name>[A-Za-z_][\w.]*)|(?P<punct>[(),]))'
)


def parse_expression(text: str) -> Any:
    """The expression as a small tree: ("var", "Flow.x.field") | ("lit", value) | ("call", "ToString", [args])."""
    tokens = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"The simulator cannot read the expression {text!r} at {text[position:]!r}.")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    tree, rest = _expression(tokens, text)
    if rest:
        raise ExpressionError(f"Unexpected {rest[0][1]!r} in the expression {text!r}.")
    return tree


def _expression(tokens: list[tuple[str, str]], text: str) -> tuple[Any, list]:
    if not tokens:
        raise ExpressionError(f"The expression {text!r} is incomplete.")
    (kind, value), rest = tokens[0], tokens[1:]
    if kind == "string":
        return ("lit", value[1:-1].replace('\\"', '"')), rest
    if kind == "number":
        return ("lit", int(value)), rest
    if kind == "name" and value.startswith("Flow."):
        return ("var", value), rest
    if kind == "name" and rest[:1] == [("punct", "(")]:
        if value != "ToString":
            raise ExpressionError(
                f"The simulator does not evaluate the function {value}() (in {text!r}); it knows ToString()."
            )
        argument, rest = _expression(rest[1:], text)
        if rest[:1] != [("punct", ")")]:
            raise ExpressionError(f"ToString takes one argument, in {text!r}.")
        return ("call", value, [argument]), rest[1:]
    raise ExpressionError(f"The simulator cannot read {value!r} in the expression {text!r}.")


NOT_SET = object()


def evaluate(value: dict | None, variables: dict[str, Any]) -> Any:
    """A checked value ({exp}, {lit} or {noValue}) with the flow's variables; NOT_SET when it has no value."""
    if not value or "noValue" in value:
        return NOT_SET
    if "lit" in value:
        return value["lit"]
    return _evaluate(parse_expression(str(value["exp"])), variables)


def _evaluate(tree: Any, variables: dict[str, Any]) -> Any:
    if tree[0] == "lit":
        return tree[1]
    if tree[0] == "var":
        parts = tree[1].split(".")
        current = variables.get(".".join(parts[:2]), NOT_SET)
        for part in parts[2:]:
            current = current.get(part, NOT_SET) if isinstance(current, dict) else NOT_SET
        return current
    argument = _evaluate(tree[2][0], variables)
    return NOT_SET if argument is NOT_SET else str(argument).lower() if isinstance(argument, bool) else str(argument)
