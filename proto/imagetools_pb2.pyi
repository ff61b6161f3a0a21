from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TagRequest(_message.Message):
    __slots__ = ("source", "targets")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    source: str
    targets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, source: _Optional[str] = ..., targets: _Optional[_Iterable[str]] = ...) -> None: ...

class TagResponse(_message.Message):
    __slots__ = ("image_id", "names")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, image_id: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ...) -> None: ...

class CommitRequest(_message.Message):
    __slots__ = ("container_id", "names", "changes", "message", "author", "compression", "source_date_epoch")
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DATE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    container_id: str
    names: _containers.RepeatedScalarFieldContainer[str]
    changes: _containers.RepeatedScalarFieldContainer[str]
    message: str
    author: str
    compression: str
    source_date_epoch: int
    def __init__(self, container_id: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ..., changes: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., author: _Optional[str] = ..., compression: _Optional[str] = ..., source_date_epoch: _Optional[int] = ...) -> None: ...

class CommitResponse(_message.Message):
    __slots__ = ("image_id", "layer_digest", "layer_size", "diff_id", "media_type", "entries")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LAYER_DIGEST_FIELD_NUMBER: _ClassVar[int]
    LAYER_SIZE_FIELD_NUMBER: _ClassVar[int]
    DIFF_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    layer_digest: str
    layer_size: int
    diff_id: str
    media_type: str
    entries: int
    def __init__(self, image_id: _Optional[str] = ..., layer_digest: _Optional[str] = ..., layer_size: _Optional[int] = ..., diff_id: _Optional[str] = ..., media_type: _Optional[str] = ..., entries: _Optional[int] = ...) -> None: ...

class AuthConfig(_message.Message):
    __slots__ = ("username", "password", "auth", "identity_token", "registry_token")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    auth: str
    identity_token: str
    registry_token: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ..., auth: _Optional[str] = ..., identity_token: _Optional[str] = ..., registry_token: _Optional[str] = ...) -> None: ...

class PushRequest(_message.Message):
    __slots__ = ("image", "target", "auth", "insecure", "chunk_size")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    INSECURE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    image: str
    target: str
    auth: AuthConfig
    insecure: bool
    chunk_size: int
    def __init__(self, image: _Optional[str] = ..., target: _Optional[str] = ..., auth: _Optional[_Union[AuthConfig, _Mapping]] = ..., insecure: _Optional[bool] = ..., chunk_size: _Optional[int] = ...) -> None: ...

class PushProgress(_message.Message):
    __slots__ = ("digest", "status", "done", "total", "finished", "manifest_digest", "name", "uploaded", "skipped", "mounted")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UPLOADED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    MOUNTED_FIELD_NUMBER: _ClassVar[int]
    digest: str
    status: str
    done: int
    total: int
    finished: bool
    manifest_digest: str
    name: str
    uploaded: _containers.RepeatedScalarFieldContainer[str]
    skipped: _containers.RepeatedScalarFieldContainer[str]
    mounted: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, digest: _Optional[str] = ..., status: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., finished: _Optional[bool] = ..., manifest_digest: _Optional[str] = ..., name: _Optional[str] = ..., uploaded: _Optional[_Iterable[str]] = ..., skipped: _Optional[_Iterable[str]] = ..., mounted: _Optional[_Iterable[str]] = ...) -> None: ...
