"""AWS Secrets Manager backend: documents as JSON ``SecretString``, ownership in tags.

Compare-and-set: Secrets Manager has no conditional put, but moving the ``AWSCURRENT`` stage
is conditional. A write stores the new version under the ``VAULTSYNC_PENDING`` stage (a put
needs at least one label, and a put without one would move ``AWSCURRENT`` unconditionally),
then moves ``AWSCURRENT`` to it with ``RemoveFromVersionId=<expected>``, which AWS refuses when
``AWSCURRENT`` is no longer on the expected version: the loser of a race gets :class:`Conflict`
and its version never becomes current. Either way the write then removes ``VAULTSYNC_PENDING``
from its version, so no custom label outlives a write (a label left by a crash in between is
moved by the next write's put, and the next read removes it). Deletes are soft (7-30
day recovery window) unless ``recovery_days=0``. Changes are noticed with ``ListSecrets``
(100 secrets per call): the ``AWSCURRENT`` version id of each secret is its change token.

Reads fetch the version the description names as current, by id, so the content and its
version id always belong together. Real Secrets Manager keeps ``AWSCURRENT`` on one version;
moto, after a stage move followed by another client's plain put, shows it on two: the newest
(listed last) is the one that put, so the last one listed counts, and the put is seen as drift.

A sync reads a copy and then writes it: the write reuses the description the read just fetched
(for up to ``OBSERVATION_SECONDS``, and only when it names the version the write expects, or the
read found no secret and the write expects none) instead of describing the secret again. Nothing
is lost by that: a version moved in between still fails the stage move, a secret deleted in
between refuses the put, and one created in between refuses the create. The first sync of a new
ManagedSecret does not read at all: :meth:`AwsBackend.create` is ``CreateSecret`` alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from botocore import exceptions as boto_errors
from botocore import xform_name

from vaultsync.backends.aws_session import client_config, session_for
from vaultsync.backends.errors import (
    BackendError,
    Conflict,
    InvalidConfig,
    NotFound,
    PermissionDenied,
    Throttled,
    Unavailable,
)
from vaultsync.backends.interface import (
    TYPE_KEY,
    CallCounter,
    Capabilities,
    ChangeMarker,
    ChangeSet,
    Credentials,
    DeleteResult,
    Document,
    PermissionReport,
    RemoteSecret,
    changes_between,
    check_ownership,
    metadata_from_marks,
    ownership_marks,
)
from vaultsync.backends.limits import AWS_SECRET_STRING_BYTES, check_size, utf8_size
from vaultsync.backends.paths import check_path
from vaultsync.backends.registry import BackendContext
from vaultsync.backends.retry import RetryPolicy, call_with_retry
from vaultsync.secrets.errors import SecretModelError
from vaultsync.secrets.formats import document_to_json, json_to_document

CURRENT = "AWSCURRENT"
PENDING = "VAULTSYNC_PENDING"
PROBE_NAME = "vaultsync-permission-probe"
DEFAULT_RECOVERY_DAYS = 30
OBSERVATION_SECONDS = 5.0
OBSERVATIONS_KEPT = 4096
_DENIED = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidClientTokenId",
}
_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "Throttling"}
_TRANSPORT = (
    boto_errors.EndpointConnectionError,
    boto_errors.ConnectTimeoutError,
    boto_errors.ReadTimeoutError,
    boto_errors.ConnectionClosedError,
)


def _translate(error: Exception, operation: str, what: str) -> BackendError:
    if isinstance(error, boto_errors.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "ResourceNotFoundException":
            return NotFound(f"{what}: not found")
        if code in _DENIED or status == 403:
            return PermissionDenied(f"{what}: {code}", missing=[f"secretsmanager:{operation}"])
        if code in _THROTTLED or status == 429:
            return Throttled(f"{what}: throttled ({code})")
        if code in ("ResourceExistsException", "InvalidRequestException"):
            return Conflict(f"{what}: {code}")
        if code in ("InvalidParameterException", "ValidationException", "MalformedPolicyDocumentException"):
            return InvalidConfig(f"{what}: {code}")
        return Unavailable(f"{what}: {code or 'error'} (HTTP {status})")
    if isinstance(error, _TRANSPORT):
        return Unavailable(f"{what}: Secrets Manager unreachable ({type(error).__name__})")
    if isinstance(error, boto_errors.NoCredentialsError):
        return InvalidConfig(f"{what}: no AWS credentials")
    return Unavailable(f"{what}: {type(error).__name__}")


def _tags(description: Mapping[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in description.get("Tags", [])}


def _current_version(description: Mapping[str, Any]) -> str | None:
    current = [v for v, stages in (description.get("VersionIdsToStages") or {}).items() if CURRENT in stages]
    return str(current[-1]) if current else None


class AwsBackend:
    """Secrets Manager secrets of one account and region, named by their path."""

    capabilities = Capabilities(soft_delete=True)

    def __init__(
        self, client: Any, *, kms_key_id: str | None = None, retry: RetryPolicy | None = None
    ) -> None:
        self._client = client
        self._kms_key_id = kms_key_id
        self._retry = retry or RetryPolicy()
        self.calls = CallCounter()
        self._observed_lock = threading.Lock()
        self._observed: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def _call(self, operation: str, what: str, **kwargs: Any) -> dict[str, Any]:
        method = getattr(self._client, xform_name(operation))

        def once() -> dict[str, Any]:
            self.calls.add(operation)
            try:
                result: dict[str, Any] = method(**kwargs)
            except (boto_errors.BotoCoreError, boto_errors.ClientError) as e:
                raise _translate(e, operation, what) from e
            return result

        return call_with_retry(once, self._retry)

    def _describe(self, name: str) -> dict[str, Any] | None:
        try:
            description = self._call("DescribeSecret", name, SecretId=name)
        except NotFound:
            return None
        return description

    def read(self, path: str) -> RemoteSecret:
        name = check_path(path)
        description = self._describe(name)
        current = _current_version(description or {})
        if description is None:
            self._remember(name, None)
            raise NotFound(f"{name}: not found")
        if description.get("DeletedDate") or current is None:
            raise NotFound(f"{name}: not found")
        self._sweep(name, description)
        self._remember(name, description)
        value = self._call("GetSecretValue", name, SecretId=name, VersionId=current)
        if "SecretString" not in value:
            raise InvalidConfig(f"{name}: holds binary data, not a vaultsync JSON document")
        try:
            document = json_to_document(value["SecretString"])
        except SecretModelError as e:
            raise InvalidConfig(f"{name}: content is not a JSON object") from e
        metadata = metadata_from_marks(_tags(description), updated_at=value.get("CreatedDate"))
        return RemoteSecret(document, str(value["VersionId"]), metadata)

    def write(
        self,
        path: str,
        secret_type: str,
        document: Document,
        *,
        owner: str,
        expected_version: str | None,
        adopt: bool = False,
    ) -> str:
        name, text = self._checked(path, document)
        wanted_tags = {**ownership_marks(owner), TYPE_KEY: secret_type}
        description = self._description_for_write(name, expected_version)
        if description is None:
            if expected_version is not None:
                raise Conflict(f"{name}: expected version {expected_version} but the secret does not exist")
            return self._create(name, text, wanted_tags)
        if description.get("DeletedDate"):
            raise Conflict(f"{name}: scheduled for deletion; restore it before writing")
        tags = _tags(description)
        check_ownership(name, metadata_from_marks(tags), owner, adopt=adopt)
        current = _current_version(description)
        if expected_version is not None and expected_version != current:
            raise Conflict(f"{name}: expected version {expected_version}, Secrets Manager has {current}")
        if any(tags.get(k) != v for k, v in wanted_tags.items()):
            self._call(
                "TagResource",
                name,
                SecretId=name,
                Tags=[{"Key": k, "Value": v} for k, v in wanted_tags.items()],
            )
        new_version = str(uuid.uuid4())
        self._call(
            "PutSecretValue",
            name,
            SecretId=name,
            SecretString=text,
            ClientRequestToken=new_version,
            VersionStages=[PENDING],
        )
        previous = {"RemoveFromVersionId": current} if current is not None else {}
        try:
            self._call(
                "UpdateSecretVersionStage",
                name,
                SecretId=name,
                VersionStage=CURRENT,
                MoveToVersionId=new_version,
                **previous,
            )
        except (InvalidConfig, Conflict) as e:
            self._unstage(name, new_version)
            raise Conflict(f"{name}: another writer moved {CURRENT} first") from e
        self._unstage(name, new_version)
        return new_version

    def create(self, path: str, secret_type: str, document: Document, *, owner: str) -> str:
        """``CreateSecret`` alone: AWS refuses it when the name is taken, by a secret scheduled
        for deletion too (``ResourceExistsException``, ``InvalidRequestException``: Conflict)."""
        name, text = self._checked(path, document)
        return self._create(name, text, {**ownership_marks(owner), TYPE_KEY: secret_type})

    @staticmethod
    def _checked(path: str, document: Document) -> tuple[str, str]:
        name = check_path(path)
        text = document_to_json(document)
        check_size(name, utf8_size(text), AWS_SECRET_STRING_BYTES, "an AWS Secrets Manager secret")
        return name, text

    def _create(self, name: str, text: str, tags: Mapping[str, str]) -> str:
        new_version = str(uuid.uuid4())
        extra = {"KmsKeyId": self._kms_key_id} if self._kms_key_id else {}
        self._call(
            "CreateSecret",
            name,
            Name=name,
            SecretString=text,
            ClientRequestToken=new_version,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            **extra,
        )
        return new_version

    def _remember(self, name: str, description: dict[str, Any] | None) -> None:
        now = time.monotonic()
        with self._observed_lock:
            if len(self._observed) >= OBSERVATIONS_KEPT:
                fresh = {k: seen for k, seen in self._observed.items() if now - seen[0] < OBSERVATION_SECONDS}
                self._observed = fresh if len(fresh) < OBSERVATIONS_KEPT else {}
            self._observed[name] = (now, description)

    def _recently_absent(self, name: str) -> bool:
        """Whether a read found no secret at all (not even a deleted one) moments ago."""
        with self._observed_lock:
            seen = self._observed.get(name)
        return seen is not None and seen[1] is None and time.monotonic() - seen[0] < OBSERVATION_SECONDS

    def _description_for_write(self, name: str, expected_version: str | None) -> dict[str, Any] | None:
        """The secret's description (None: it does not exist), reusing what a read found moments ago
        when that still fits what the write expects.

        A read that found no secret lets a create skip the second describe: a secret created in
        between makes ``CreateSecret`` fail, so the write still loses the race.
        """
        with self._observed_lock:
            seen = self._observed.pop(name, None)
        if seen is not None and time.monotonic() - seen[0] < OBSERVATION_SECONDS:
            description = seen[1]
            if description is None and expected_version is None:
                return None
            if (
                description is not None
                and expected_version is not None
                and not description.get("DeletedDate")
                and _current_version(description) == expected_version
            ):
                return description
        return self._describe(name)

    def _sweep(self, name: str, description: Mapping[str, Any]) -> None:
        """Remove a ``VAULTSYNC_PENDING`` left by a write that died between its put and its unstage.

        Without this, a write killed after moving ``AWSCURRENT`` leaves the label until the content
        next changes (the copy is in sync, so nothing writes it). Costs a call only when one is found.
        """
        for version, stages in (description.get("VersionIdsToStages") or {}).items():
            if PENDING in stages:
                self._unstage(name, str(version))

    def _unstage(self, name: str, version: str) -> None:
        """Take ``VAULTSYNC_PENDING`` off ``version``: a custom label must not outlive the write.

        Best effort: the content is already where it belongs, and a label left behind by a failure
        here moves to the next write's version and is removed then.
        """
        with contextlib.suppress(BackendError):
            self._call(
                "UpdateSecretVersionStage",
                name,
                SecretId=name,
                VersionStage=PENDING,
                RemoveFromVersionId=version,
            )

    def delete(
        self, path: str, *, owner: str, adopt: bool = False, recovery_days: int | None = None
    ) -> DeleteResult:
        name = check_path(path)
        description = self._describe(name)
        if description is None or description.get("DeletedDate"):
            raise NotFound(f"{name}: not found")
        check_ownership(name, metadata_from_marks(_tags(description)), owner, adopt=adopt)
        if recovery_days == 0:
            self._call("DeleteSecret", name, SecretId=name, ForceDeleteWithoutRecovery=True)
            return DeleteResult(restorable=False)
        days = min(30, max(7, recovery_days or DEFAULT_RECOVERY_DAYS))
        result = self._call("DeleteSecret", name, SecretId=name, RecoveryWindowInDays=days)
        until = result.get("DeletionDate")
        if isinstance(until, dt.datetime) and until.tzinfo is None:
            until = until.replace(tzinfo=dt.UTC)
        return DeleteResult(restorable=True, restorable_until=until)

    def restore(self, path: str, *, owner: str | None = None) -> None:
        name = check_path(path)
        if self._recently_absent(name):
            # A secret soft-deleted in between is restored by the next sync: the create that
            # follows fails on it (the name is taken), and the next read finds it deleted.
            raise NotFound(f"{name}: no deleted secret to restore")
        description = self._describe(name)
        if description is None or not description.get("DeletedDate"):
            raise NotFound(f"{name}: no deleted secret to restore")
        if owner is not None:
            check_ownership(name, metadata_from_marks(_tags(description)), owner, adopt=False)
        self._call("RestoreSecret", name, SecretId=name)

    def list_changes(self, since: ChangeMarker | None, paths: Collection[str] | None = None) -> ChangeSet:
        wanted = set(paths) if paths is not None else None
        tokens: dict[str, str] = {}
        page: dict[str, Any] = {"MaxResults": 100}
        while True:
            listing = self._call("ListSecrets", "list", **page)
            for entry in listing.get("SecretList", []):
                name = entry["Name"]
                current = _current_version({"VersionIdsToStages": entry.get("SecretVersionsToStages")})
                if (
                    (wanted is None or name in wanted)
                    and current is not None
                    and not entry.get("DeletedDate")
                ):
                    tokens[name] = current
            if not listing.get("NextToken"):
                break
            page = {"MaxResults": 100, "NextToken": listing["NextToken"]}
        return changes_between(since, tokens, paths)

    def set_enabled(self, path: str, enabled: bool, *, owner: str) -> None:
        raise InvalidConfig("aws: Secrets Manager has no per-secret enable switch")

    def verify_permissions(self, path_prefix: str = "") -> PermissionReport:
        probe = "/".join(p for p in (path_prefix.strip("/"), f"{PROBE_NAME}-{uuid.uuid4().hex[:8]}") if p)
        probes: dict[str, dict[str, Any]] = {
            "GetSecretValue": {"SecretId": probe},
            "DescribeSecret": {"SecretId": probe},
            "PutSecretValue": {"SecretId": probe, "SecretString": "{}"},
            "ListSecrets": {"MaxResults": 1},
            "DeleteSecret": {"SecretId": probe, "ForceDeleteWithoutRecovery": True},
            "TagResource": {"SecretId": probe, "Tags": [{"Key": "probe", "Value": "probe"}]},
            "RestoreSecret": {"SecretId": probe},
        }
        missing: list[str] = []
        for operation, kwargs in probes.items():
            try:
                self._call(operation, "permission probe", **kwargs)
            except PermissionDenied as denied:
                missing.extend(denied.missing)
            except (NotFound, Conflict, InvalidConfig):
                pass  # the request was authorised and then failed on the (absent) probe secret
        return PermissionReport(checked=[f"secretsmanager:{op}" for op in probes], missing=missing)

    def close(self) -> None:
        self._client.close()


def from_spec(spec: Mapping[str, Any], credentials: Credentials, context: BackendContext) -> AwsBackend:
    """Build the backend from a VaultProfile ``spec.provider.aws`` object.

    Credentials: ``accessKeyId`` and ``secretAccessKey`` (and optional ``sessionToken``) for
    accessKey auth; ``webIdentityToken`` may replace the token file of webIdentity auth.
    """
    config = client_config(context.http_timeout, context.pool_size)
    session = session_for(spec, credentials, config)
    client = session.client("secretsmanager", endpoint_url=spec.get("endpoint") or None, config=config)
    return AwsBackend(client, kms_key_id=spec.get("kmsKeyId") or None, retry=context.retry)
