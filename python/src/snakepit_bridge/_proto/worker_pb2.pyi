from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Payload(_message.Message):
    __slots__ = ("json", "attachments")
    JSON_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    json: bytes
    attachments: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, json: _Optional[bytes] = ..., attachments: _Optional[_Iterable[bytes]] = ...) -> None: ...

class CallRequest(_message.Message):
    __slots__ = ("call_id", "tool", "args", "session_id", "deadline_unix_ms", "headers")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    tool: str
    args: Payload
    session_id: str
    deadline_unix_ms: int
    headers: _containers.ScalarMap[str, str]
    def __init__(self, call_id: _Optional[str] = ..., tool: _Optional[str] = ..., args: _Optional[_Union[Payload, _Mapping]] = ..., session_id: _Optional[str] = ..., deadline_unix_ms: _Optional[int] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ToolError(_message.Message):
    __slots__ = ("code", "python_type", "message", "traceback", "details_json")
    CODE_FIELD_NUMBER: _ClassVar[int]
    PYTHON_TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    code: str
    python_type: str
    message: str
    traceback: str
    details_json: bytes
    def __init__(self, code: _Optional[str] = ..., python_type: _Optional[str] = ..., message: _Optional[str] = ..., traceback: _Optional[str] = ..., details_json: _Optional[bytes] = ...) -> None: ...

class CallResponse(_message.Message):
    __slots__ = ("result", "error")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    result: Payload
    error: ToolError
    def __init__(self, result: _Optional[_Union[Payload, _Mapping]] = ..., error: _Optional[_Union[ToolError, _Mapping]] = ...) -> None: ...

class StreamMessage(_message.Message):
    __slots__ = ("chunk", "error")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    chunk: Payload
    error: ToolError
    def __init__(self, chunk: _Optional[_Union[Payload, _Mapping]] = ..., error: _Optional[_Union[ToolError, _Mapping]] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("call_id", "wait_ms", "withdraw")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    WITHDRAW_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    wait_ms: int
    withdraw: bool
    def __init__(self, call_id: _Optional[str] = ..., wait_ms: _Optional[int] = ..., withdraw: _Optional[bool] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("found", "finished", "withdrawn")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    found: bool
    finished: bool
    withdrawn: bool
    def __init__(self, found: _Optional[bool] = ..., finished: _Optional[bool] = ..., withdrawn: _Optional[bool] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ParamInfo(_message.Message):
    __slots__ = ("name", "type", "required", "default_json", "kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_JSON_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    required: bool
    default_json: bytes
    kind: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., required: _Optional[bool] = ..., default_json: _Optional[bytes] = ..., kind: _Optional[str] = ...) -> None: ...

class ToolInfo(_message.Message):
    __slots__ = ("name", "doc", "params", "returns", "streaming", "is_async", "params_schema_json", "returns_schema_json", "schema_warnings")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DOC_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RETURNS_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    IS_ASYNC_FIELD_NUMBER: _ClassVar[int]
    PARAMS_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    RETURNS_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_WARNINGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    doc: str
    params: _containers.RepeatedCompositeFieldContainer[ParamInfo]
    returns: str
    streaming: bool
    is_async: bool
    params_schema_json: bytes
    returns_schema_json: bytes
    schema_warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., doc: _Optional[str] = ..., params: _Optional[_Iterable[_Union[ParamInfo, _Mapping]]] = ..., returns: _Optional[str] = ..., streaming: _Optional[bool] = ..., is_async: _Optional[bool] = ..., params_schema_json: _Optional[bytes] = ..., returns_schema_json: _Optional[bytes] = ..., schema_warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class WorkerInfo(_message.Message):
    __slots__ = ("pid", "python_version", "implementation", "free_threaded", "gil_enabled", "threads", "adapter", "adapter_thread_safe", "platform")
    PID_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMPLEMENTATION_FIELD_NUMBER: _ClassVar[int]
    FREE_THREADED_FIELD_NUMBER: _ClassVar[int]
    GIL_ENABLED_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_THREAD_SAFE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    pid: int
    python_version: str
    implementation: str
    free_threaded: bool
    gil_enabled: bool
    threads: int
    adapter: str
    adapter_thread_safe: bool
    platform: str
    def __init__(self, pid: _Optional[int] = ..., python_version: _Optional[str] = ..., implementation: _Optional[str] = ..., free_threaded: _Optional[bool] = ..., gil_enabled: _Optional[bool] = ..., threads: _Optional[int] = ..., adapter: _Optional[str] = ..., adapter_thread_safe: _Optional[bool] = ..., platform: _Optional[str] = ...) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("worker", "tools")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    worker: WorkerInfo
    tools: _containers.RepeatedCompositeFieldContainer[ToolInfo]
    def __init__(self, worker: _Optional[_Union[WorkerInfo, _Mapping]] = ..., tools: _Optional[_Iterable[_Union[ToolInfo, _Mapping]]] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ("status", "active_calls", "capacity", "requests_started", "rss_bytes", "pss_bytes", "uss_bytes", "uptime_seconds")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CALLS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_STARTED_FIELD_NUMBER: _ClassVar[int]
    RSS_BYTES_FIELD_NUMBER: _ClassVar[int]
    PSS_BYTES_FIELD_NUMBER: _ClassVar[int]
    USS_BYTES_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    status: str
    active_calls: int
    capacity: int
    requests_started: int
    rss_bytes: int
    pss_bytes: int
    uss_bytes: int
    uptime_seconds: float
    def __init__(self, status: _Optional[str] = ..., active_calls: _Optional[int] = ..., capacity: _Optional[int] = ..., requests_started: _Optional[int] = ..., rss_bytes: _Optional[int] = ..., pss_bytes: _Optional[int] = ..., uss_bytes: _Optional[int] = ..., uptime_seconds: _Optional[float] = ...) -> None: ...

class DrainRequest(_message.Message):
    __slots__ = ("timeout_ms",)
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    timeout_ms: int
    def __init__(self, timeout_ms: _Optional[int] = ...) -> None: ...

class DrainResponse(_message.Message):
    __slots__ = ("active_calls",)
    ACTIVE_CALLS_FIELD_NUMBER: _ClassVar[int]
    active_calls: int
    def __init__(self, active_calls: _Optional[int] = ...) -> None: ...

class SharedAttachment(_message.Message):
    __slots__ = ("index", "name", "length")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    index: int
    name: str
    length: int
    def __init__(self, index: _Optional[int] = ..., name: _Optional[str] = ..., length: _Optional[int] = ...) -> None: ...

class SharedMemoryReady(_message.Message):
    __slots__ = ("prefix", "min_bytes")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    MIN_BYTES_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    min_bytes: int
    def __init__(self, prefix: _Optional[str] = ..., min_bytes: _Optional[int] = ...) -> None: ...

class StreamEnd(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamCredit(_message.Message):
    __slots__ = ("chunks",)
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    chunks: int
    def __init__(self, chunks: _Optional[int] = ...) -> None: ...

class DataFrame(_message.Message):
    __slots__ = ("call_id", "execute", "stream", "credit", "cancel", "describe", "health", "drain", "result", "chunk", "end", "cancel_reply", "describe_reply", "health_reply", "drain_reply", "shared_memory_ready", "shared")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTE_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    DESCRIBE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REPLY_FIELD_NUMBER: _ClassVar[int]
    DESCRIBE_REPLY_FIELD_NUMBER: _ClassVar[int]
    HEALTH_REPLY_FIELD_NUMBER: _ClassVar[int]
    DRAIN_REPLY_FIELD_NUMBER: _ClassVar[int]
    SHARED_MEMORY_READY_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    execute: CallRequest
    stream: CallRequest
    credit: StreamCredit
    cancel: CancelRequest
    describe: DescribeRequest
    health: HealthRequest
    drain: DrainRequest
    result: CallResponse
    chunk: StreamMessage
    end: StreamEnd
    cancel_reply: CancelResponse
    describe_reply: DescribeResponse
    health_reply: HealthResponse
    drain_reply: DrainResponse
    shared_memory_ready: SharedMemoryReady
    shared: _containers.RepeatedCompositeFieldContainer[SharedAttachment]
    def __init__(self, call_id: _Optional[str] = ..., execute: _Optional[_Union[CallRequest, _Mapping]] = ..., stream: _Optional[_Union[CallRequest, _Mapping]] = ..., credit: _Optional[_Union[StreamCredit, _Mapping]] = ..., cancel: _Optional[_Union[CancelRequest, _Mapping]] = ..., describe: _Optional[_Union[DescribeRequest, _Mapping]] = ..., health: _Optional[_Union[HealthRequest, _Mapping]] = ..., drain: _Optional[_Union[DrainRequest, _Mapping]] = ..., result: _Optional[_Union[CallResponse, _Mapping]] = ..., chunk: _Optional[_Union[StreamMessage, _Mapping]] = ..., end: _Optional[_Union[StreamEnd, _Mapping]] = ..., cancel_reply: _Optional[_Union[CancelResponse, _Mapping]] = ..., describe_reply: _Optional[_Union[DescribeResponse, _Mapping]] = ..., health_reply: _Optional[_Union[HealthResponse, _Mapping]] = ..., drain_reply: _Optional[_Union[DrainResponse, _Mapping]] = ..., shared_memory_ready: _Optional[_Union[SharedMemoryReady, _Mapping]] = ..., shared: _Optional[_Iterable[_Union[SharedAttachment, _Mapping]]] = ...) -> None: ...
