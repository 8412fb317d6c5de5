"""What the OpenAPI document declares beyond the handlers' own signatures: who authenticates how, the
problem document every error is, and the error statuses each operation can answer.

Handlers declare `security=` and `responses=problem_responses(...)` on their decorators; the two hooks
below fill the gaps where Litestar 2.25 cannot be told something by a declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Final, Literal

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, Example, Operation, Schema, SecurityRequirement, SecurityScheme

from control_plane.lib.problems import PROBLEM_JSON

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.config.app import AppConfig
    from litestar.typing import FieldDefinition

# Security schemes, each named once; operations list the one they use (or none).
USER_BEARER = "BearerToken"
SERVICE_TOKEN = "ServiceToken"
LIVEKIT_WEBHOOK = "LiveKitWebhookSignature"

USER: Final[list[SecurityRequirement]] = [{USER_BEARER: []}]
AGENT: Final[list[SecurityRequirement]] = [{SERVICE_TOKEN: []}]
LIVEKIT: Final[list[SecurityRequirement]] = [{LIVEKIT_WEBHOOK: []}]


def security_schemes() -> Components:
    return Components(
        security_schemes={
            USER_BEARER: SecurityScheme(
                type="http",
                scheme="bearer",
                bearer_format="JWT",
                description="A user's access token (HS256 JWT) from `login` or `refreshTokens`.",
            ),
            SERVICE_TOKEN: SecurityScheme(
                type="http",
                scheme="bearer",
                description="The interviewer agent's shared service token (`CODEVOICE_AGENT_SERVICE_TOKEN`); "
                "never a user's token.",
            ),
            LIVEKIT_WEBHOOK: SecurityScheme(
                type="apiKey",
                security_scheme_in="header",
                name="Authorization",
                description="livekit-server's webhook signature: a JWT signed with the LiveKit API secret "
                "whose `sha256` claim is the body's SHA-256 (base64), sent as the whole Authorization "
                "header.",
            ),
        }
    )


# The problem document (RFC 9457), as control_plane.lib.problems writes it.
class ValidationError(msgspec.Struct, omit_defaults=True):
    message: str
    key: str | msgspec.UnsetType = msgspec.UNSET
    source: Literal["body", "query", "path", "header", "cookie"] | msgspec.UnsetType = msgspec.UNSET


class ProblemDetails(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document, sent as application/problem+json. `title` is the status's standard
    phrase and `detail` says what went wrong; refused input lists its fields in `extra`."""

    type_: Annotated[str, msgspec.Meta(description="Always about:blank: the status says it all")] = (
        msgspec.field(name="type")
    )
    title: str
    status: Annotated[int, msgspec.Meta(ge=400, le=599)]
    detail: str
    extra: Annotated[
        list[ValidationError] | msgspec.UnsetType,
        msgspec.Meta(description="400 only: each invalid field of a request that failed validation"),
    ] = msgspec.UNSET


class NotReadyProblem(ProblemDetails):
    checks: dict[str, Literal["ok", "unreachable"]] = msgspec.field(default_factory=dict)


_DESCRIPTIONS: Final = {
    400: "Malformed or invalid request (body, query or JSON text the API cannot accept)",
    401: "Missing or invalid credentials",
    403: "Authenticated, but this role may not do it",
    404: "No such resource, or not yours",
    409: "Conflicts with the resource's current state",
    413: "Request body too large",
    415: "The request has a body that is not JSON",
    429: "Too many attempts; retry after the Retry-After header's seconds",
    503: "A service it depends on (Postgres, Redis or LiveKit) cannot be reached",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The error statuses an operation can answer, each documented as a problem document."""
    return {
        status: ResponseSpec(
            data_container=NotReadyProblem if status == 503 else ProblemDetails,
            generate_examples=False,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
            examples=[
                Example(
                    summary=HTTPStatus(status).phrase,
                    value={
                        "type": "about:blank",
                        "title": HTTPStatus(status).phrase,
                        "status": status,
                        "detail": _DESCRIPTIONS[status],
                    },
                )
            ],
        )
        for status in sorted(statuses)
    }


def security_per_operation(app_config: AppConfig) -> AppConfig:
    """An on_app_init hook, after JWTAuth's: JWTAuth requires its bearer token of the whole document, so
    public, service-token and webhook operations would inherit it. Each operation declares its own instead."""
    if app_config.openapi_config is not None:
        app_config.openapi_config.security = None
    return app_config


@dataclass
class DeclaredErrorsOnly(Operation):
    """For a handler whose only parameters are typed path parameters: Litestar documents a 400 for every
    handler with parameters, but a malformed path parameter matches no route (404), so it cannot happen."""

    def __post_init__(self) -> None:
        if self.responses is not None:
            self.responses = {
                status: response
                for status, response in self.responses.items()
                if status != "400" or PROBLEM_JSON in (getattr(response, "content", None) or {})
            }


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's schema for msgspec Structs, plus two rules msgspec enforces that Litestar 2.25 leaves out
    of the schema: `forbid_unknown_fields` (additionalProperties: false) and Meta constraints on the items
    of a list field (`list[Annotated[str, Meta(min_length=1)]]`)."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        assert isinstance(info, msgspec.inspect.StructType)
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        for field in info.fields:
            prop = (schema.properties or {}).get(field.encode_name)
            item_type = _item_type(field.type)
            if isinstance(prop, Schema) and isinstance(prop.items, Schema) and item_type is not None:
                _constrain(prop.items, item_type)
        return schema


def _item_type(field_type: msgspec.inspect.Type) -> msgspec.inspect.Type | None:
    if isinstance(field_type, msgspec.inspect.Metadata):
        field_type = field_type.type
    if isinstance(
        field_type, msgspec.inspect.ListType | msgspec.inspect.SetType | msgspec.inspect.VarTupleType
    ):
        item = field_type.item_type
        return item.type if isinstance(item, msgspec.inspect.Metadata) else item
    return None


def _constrain(schema: Schema, item_type: msgspec.inspect.Type) -> None:
    constraints: dict[str, object] = {}
    if isinstance(item_type, msgspec.inspect.StrType):
        constraints = {
            "min_length": item_type.min_length,
            "max_length": item_type.max_length,
            "pattern": item_type.pattern,
        }
    elif isinstance(item_type, msgspec.inspect.IntType):
        constraints = {
            "minimum": item_type.ge,
            "maximum": item_type.le,
            "exclusive_minimum": item_type.gt,
            "exclusive_maximum": item_type.lt,
        }
    for name, value in constraints.items():
        if value is not None:
            setattr(schema, name, value)
