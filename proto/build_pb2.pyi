from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BuildRequest(_message.Message):
    __slots__ = ("context_path", "dockerfile_text", "dockerfile_path", "tags", "build_args", "target", "platform", "no_cache", "network", "compression")
    class BuildArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTEXT_PATH_FIELD_NUMBER: _ClassVar[int]
    DOCKERFILE_TEXT_FIELD_NUMBER: _ClassVar[int]
    DOCKERFILE_PATH_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    BUILD_ARGS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    context_path: str
    dockerfile_text: str
    dockerfile_path: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    build_args: _containers.ScalarMap[str, str]
    target: str
    platform: str
    no_cache: bool
    network: str
    compression: str
    def __init__(self, context_path: _Optional[str] = ..., dockerfile_text: _Optional[str] = ..., dockerfile_path: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., build_args: _Optional[_Mapping[str, str]] = ..., target: _Optional[str] = ..., platform: _Optional[str] = ..., no_cache: _Optional[bool] = ..., network: _Optional[str] = ..., compression: _Optional[str] = ...) -> None: ...

class BuildProgress(_message.Message):
    __slots__ = ("step", "output", "result")
    STEP_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    step: Step
    output: Output
    result: Result
    def __init__(self, step: _Optional[_Union[Step, _Mapping]] = ..., output: _Optional[_Union[Output, _Mapping]] = ..., result: _Optional[_Union[Result, _Mapping]] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("stage", "index", "total", "text", "line", "cached", "seconds", "done")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    stage: str
    index: int
    total: int
    text: str
    line: int
    cached: bool
    seconds: float
    done: bool
    def __init__(self, stage: _Optional[str] = ..., index: _Optional[int] = ..., total: _Optional[int] = ..., text: _Optional[str] = ..., line: _Optional[int] = ..., cached: _Optional[bool] = ..., seconds: _Optional[float] = ..., done: _Optional[bool] = ...) -> None: ...

class Output(_message.Message):
    __slots__ = ("index", "stderr", "data")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    index: int
    stderr: bool
    data: bytes
    def __init__(self, index: _Optional[int] = ..., stderr: _Optional[bool] = ..., data: _Optional[bytes] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("image_id", "manifest_digest", "tags", "layers")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    manifest_digest: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    layers: int
    def __init__(self, image_id: _Optional[str] = ..., manifest_digest: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., layers: _Optional[int] = ...) -> None: ...
