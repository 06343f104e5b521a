"""The base of every scenario section and spec: unknown keys rejected, NaN/inf rejected, true/false rejected where a
number is expected (pydantic would read true as 1, false as 0), and so is a number written with a leading zero
(`08000`, text to YAML 1.1, which pydantic would read as 8000) and text where only a number belongs ("0.5",
which pydantic would read as 0.5), immutable.

The true/false check walks a value only where a field's type can hold an int or float outside nested models (which
check their own fields), and names where in the value the true/false stands (`['a'][2]`)."""

from __future__ import annotations

import functools
import re
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from sim.scenario.yaml_reader import SEXAGESIMAL_RE


_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")  # a number written with a leading zero (YAML 1.1 left it text)


class Strict(BaseModel):
    """Base for every scenario section and spec (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_as_written(cls, v: Any, info: ValidationInfo) -> Any:
        if not info.field_name or not _field_takes_numbers(cls, info.field_name):
            return v
        if isinstance(v, str) and _LEADING_ZERO.fullmatch(v):  # 08000: text to YAML 1.1, 8000 to pydantic
            raise ValueError(f"{v} has a leading zero; write the number without it")
        rule = _number_rule(cls, info.field_name)  # pydantic would read "0.5" as 0.5
        text_at = _text_in(v, mapping=rule[1]) if rule is not None else None
        if rule is not None and text_at is not None:
            at, text = text_at
            why = ("base-60 numbers such as 1:20 are not read as numbers" if SEXAGESIMAL_RE.match(text)
                   else "a number is written without quotes")
            raise ValueError(f"expected {rule[0]}, found the text {text!r}{at} ({why})")
        if not _holds_bool(v):
            return v
        verdict, where = _bool_verdict(cls.model_fields[info.field_name].annotation, v)
        if verdict == "bad":
            at = "".join(f"[{w!r}]" if isinstance(w, str) else f"[{w}]" for w in where)
            found = "true" if _at(v, where) else "false"
            raise ValueError(f"expected a number, found {found}{' at ' + at if at else ''} "
                             "(true/false is not a number)")
        return v


@functools.cache
def _field_takes_numbers(cls: type[BaseModel], name: str) -> bool:
    """Whether an int or float can stand in field `name` of `cls` other than inside a nested model (which checks
    its own fields): only then can `_bool_verdict` find true/false where a number belongs, so only then is the
    value walked. Answered once per field."""
    field = cls.model_fields.get(name)
    return field is not None and _takes_numbers(field.annotation)


@functools.cache
def _number_rule(cls: type[BaseModel], name: str) -> tuple[str, bool] | None:
    """('an integer' or 'a number', False) when field `name` of `cls` holds such a number and nothing else
    (perhaps optional); (kind, True) when it maps names to such numbers (shares by origin, a policy's scale);
    else None. Text there, even text that reads as a number ("0.5"), is refused as in the schema (`bordersim
    schema`), not read as pydantic's lax mode would. Fields that take a number or a unit string ("2 years") are
    not such fields."""
    field = cls.model_fields.get(name)
    if field is None:
        return None
    tp, mapping = _unwrapped(field.annotation), False
    if typing.get_origin(tp) is dict:
        tp, mapping = typing.get_args(tp)[1], True
    kinds = _number_types(tp)
    if not kinds:
        return None
    return ("an integer" if kinds == {int} else "a number"), mapping


def _unwrapped(tp: Any) -> Any:
    """`tp` without its Annotated and Optional wrappers (Optional[Annotated[dict[str, float], ...]] -> dict[...])."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _text_in(v: Any, *, mapping: bool) -> tuple[str, str] | None:
    """(where, text) of the first text in `v`, a number (`mapping` False) or a map of numbers, or None."""
    if mapping:
        return next(((f" at [{k!r}]", x) for k, x in v.items() if isinstance(x, str)), None) \
            if isinstance(v, dict) else None
    return ("", v) if isinstance(v, str) else None


def _number_types(tp: Any) -> set[type] | None:
    """{int} or {float} (or both) when every value of type `tp` is such a number (None allowed), else None."""
    if isinstance(tp, type) and issubclass(tp, (int, float)) and not issubclass(tp, bool):
        return {int if issubclass(tp, int) else float}
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _number_types(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        found: set[type] = set()
        for arg in typing.get_args(tp):
            if arg is not type(None):
                kinds = _number_types(arg)
                if not kinds:
                    return None
                found |= kinds
        return found or None
    return None


def _takes_numbers(tp: Any) -> bool:
    """Whether an int or float can stand somewhere in a value of type `tp` outside nested models."""
    if isinstance(tp, type) and issubclass(tp, (int, float)) and not issubclass(tp, bool):
        return True
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _takes_numbers(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, set, frozenset, dict):
        return any(_takes_numbers(a) for a in typing.get_args(tp) if a is not Ellipsis)
    return False  # a model, a string, bool, Any, a Literal: true/false there is not `_bool_verdict`'s "bad"


def _holds_bool(v: Any) -> bool:
    """Whether true or false stands anywhere in v (nested dicts, lists and tuples), walked with a stack: every
    field of every section asks, so this runs hundreds of times per scenario validated."""
    stack = [v]
    while stack:
        x = stack.pop()
        if x is True or x is False:
            return True
        if isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    return False


def _at(v: Any, where: tuple) -> Any:
    for w in where:
        v = v[w]
    return v


def _bool_verdict(tp: Any, v: Any) -> tuple[str, tuple]:
    """Whether type `tp` takes the true/false values inside `v`: ('ok', ()), ('bad', where) when one stands where
    only a number (int or float) is allowed, or ('other', ()) when pydantic decides (a model, a string, ...)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return _bool_verdict(args[0], v)
    if origin in (typing.Union, types.UnionType):
        verdicts = [_bool_verdict(a, v) for a in args]
        for wanted in ("ok", "bad"):
            for verdict in verdicts:
                if verdict[0] == wanted:
                    return verdict
        return "other", ()
    if isinstance(v, bool):
        if tp in (bool, Any, object) or (origin is Literal and v in args and any(a is v for a in args)):
            return "ok", ()
        if isinstance(tp, type) and issubclass(tp, (int, float)) and not issubclass(tp, bool):
            return "bad", ()
        return "other", ()
    items: list[tuple[Any, Any, Any]] = []
    if isinstance(v, (list, tuple)) and origin in (list, tuple, set, frozenset):
        if origin is tuple and args and args[-1] is not Ellipsis:
            items = [(i, args[i] if i < len(args) else Any, x) for i, x in enumerate(v)]
        else:
            items = [(i, args[0] if args else Any, x) for i, x in enumerate(v)]
    elif isinstance(v, dict) and origin is dict:
        items = [(k, args[1] if args else Any, x) for k, x in v.items()]
    else:
        return "other", ()
    for key, item_tp, x in items:
        if _holds_bool(x):
            item_verdict, where = _bool_verdict(item_tp, x)
            if item_verdict == "bad":
                return "bad", (key,) + where
    return "ok", ()
