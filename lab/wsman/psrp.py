"""PowerShell shells: a psrpcore runspace pool per shell, a worker thread per pipeline, the engine behind."""

from __future__ import annotations

import base64
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from xml.etree import ElementTree as ET

from psrpcore import CreatePipelineEvent, PSRPPayload, ServerPipeline, ServerRunspacePool, StreamType
from psrpcore.types import PSInvocationState

from lab.api import CallContext, CommandCall, Engine, PowerShellError
from lab.wsman.shells import (
    command_gone,
    command_response,
    empty,
    payload_budget,
    receive_response,
    shell_gone,
    wait_until,
)
from lab.wsman.soap import NS as _NS
from lab.wsman.soap import Request, SoapFault
from lab.wsman.values import PS_VERSION_TABLE, error_record, from_psrp, to_psrp

RESOURCE_URI = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
#: The largest PSRP payload queued at once; a Receive reply joins several up to the client's envelope size.
_CHUNK = 16384
_RUNNING = PSInvocationState.Running


class PowerShellShell:
    """One RunspacePool: feeds client fragments to psrpcore and queues its output per pipeline."""

    def __init__(self, shell_id: str, context: CallContext, engine: Engine, creation_xml: bytes) -> None:
        self.shell_id = shell_id
        self._context = context
        self._engine = engine
        self._lock = threading.Condition()
        self._pool = ServerRunspacePool(application_private_data={"PSVersionTable": dict(PS_VERSION_TABLE)})
        self._queues: dict[uuid.UUID | None, deque[bytes]] = {None: deque()}
        self._stopping: dict[uuid.UUID, threading.Event] = {}
        self._closed = False
        with self._lock:
            self._feed(creation_xml)

    def command(self, request: Request) -> ET.Element:
        """Create a pipeline from its first CreatePipeline fragment; it runs once the message is whole."""
        line = request.body.find("rsp:CommandLine", _NS)
        if line is None:
            raise SoapFault(
                2150858817, "w:InvalidMessageInformationHeader", "Command without rsp:CommandLine"
            )
        command_id = (line.get("CommandId") or str(uuid.uuid4())).upper()
        pipeline_id = uuid.UUID(command_id)
        with self._lock:
            self._check_open()
            ServerPipeline(self._pool, pipeline_id)
            self._queues[pipeline_id] = deque()
            self._stopping[pipeline_id] = threading.Event()
            self._feed(b"".join(base64.b64decode(a.text or "") for a in line.iterfind("rsp:Arguments", _NS)))
        return command_response(command_id)

    def send(self, request: Request) -> ET.Element:
        """Feed more fragments (a large pipeline, or pipeline input)."""
        with self._lock:
            self._check_open()
            for stream in request.body.iterfind("rsp:Send/rsp:Stream", _NS):
                self._feed(base64.b64decode(stream.text or ""))
        return empty("SendResponse")

    def receive(self, request: Request) -> ET.Element:
        """Long-poll for the pool's or a pipeline's queued output, at most one envelope's worth."""
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", _NS)
        command_id = desired.get("CommandId") if desired is not None else None
        key = uuid.UUID(command_id) if command_id else None
        budget = payload_budget(request)
        with self._lock:
            self._check_open()
            queue = self._queues.get(key)
            if queue is None:
                raise command_gone(command_id or "")
            wait_until(self._lock, lambda: self._closed or bool(queue), request.operation_timeout)
            self._check_open()
            chunks = [queue.popleft()]
            while queue and sum(map(len, chunks)) + len(queue[0]) <= budget:
                chunks.append(queue.popleft())
            done = key is not None and not queue and self._ended(key)
        streams = [("stdout", chunk, False) for chunk in chunks]
        return receive_response(command_id.upper() if command_id else None, streams, done=done)

    def signal(self, request: Request) -> ET.Element:
        """Ctrl-C stops a pipeline; Terminate stops it and forgets it."""
        element = request.body.find("rsp:Signal", _NS)
        command_id = element.get("CommandId", "") if element is not None else ""
        code = (element.findtext("rsp:Code", "", _NS) if element is not None else "").strip()
        with self._lock:
            pipeline_id = uuid.UUID(command_id) if command_id else None
            pipeline = self._pool.pipeline_table.get(pipeline_id) if pipeline_id else None
            if pipeline is not None and pipeline_id is not None:
                self._stopping[pipeline_id].set()
                if pipeline.state == _RUNNING:
                    pipeline.stop()
                if code.lower().endswith("terminate"):
                    pipeline.close()
                    self._queues.pop(pipeline_id, None)
                    self._stopping.pop(pipeline_id, None)
                self._drain()
        return empty("SignalResponse")

    def close(self) -> None:
        """Stop every pipeline and wake every waiting Receive."""
        with self._lock:
            self._closed = True
            for event in self._stopping.values():
                event.set()
            self._lock.notify_all()

    def _feed(self, data: bytes) -> None:
        self._pool.receive_data(PSRPPayload(data, StreamType.default, None))
        while (event := self._pool.next_event()) is not None:
            if isinstance(event, CreatePipelineEvent) and event.pipeline_id is not None:
                pipeline = self._pool.pipeline_table[event.pipeline_id]
                pipeline.start()
                worker = threading.Thread(
                    target=self._run,
                    args=(pipeline, self._stopping[event.pipeline_id]),
                    name=f"psrp-{event.pipeline_id}",
                    daemon=True,
                )
                worker.start()
        self._drain()

    def _drain(self) -> None:
        while (payload := self._pool.data_to_send(_CHUNK)) is not None:
            queue = self._queues.get(payload.pipeline_id)
            if queue is not None:
                queue.append(payload.data)
        self._lock.notify_all()

    def _ended(self, pipeline_id: uuid.UUID) -> bool:
        pipeline = self._pool.pipeline_table.get(pipeline_id)
        return pipeline is None or pipeline.state != _RUNNING

    def _check_open(self) -> None:
        if self._closed:
            raise shell_gone(self.shell_id)

    def _run(self, pipeline: ServerPipeline, stopping: threading.Event) -> None:
        output = PipelineWriter(self._lock, pipeline, stopping, self._drain)
        try:
            for statement in _statements(pipeline):
                self._engine.invoke(self._context, statement, output)
                if stopping.is_set():
                    break
        except Exception as error:
            output.finish(PSInvocationState.Failed, error)
        else:
            output.finish(PSInvocationState.Stopped if stopping.is_set() else PSInvocationState.Completed)


class PipelineWriter:
    """The engine's :class:`lab.api.PipelineOutput` for one pipeline; writes after a stop are dropped."""

    def __init__(
        self,
        lock: threading.Condition,
        pipeline: ServerPipeline,
        stopping: threading.Event,
        flush: Callable[[], None],
    ) -> None:
        self._lock = lock
        self._pipeline = pipeline
        self._stopping = stopping
        self._flush = flush

    @property
    def stopping(self) -> threading.Event:
        """Set when the client stops the pipeline or closes the shell."""
        return self._stopping

    def write_output(self, value: object) -> None:
        """Write an object to the output stream."""
        converted = to_psrp(value)
        self._write(lambda: self._pipeline.write_output(converted))

    def write_error(self, error: PowerShellError) -> None:
        """Write a non-terminating error record."""
        record = error_record(error)
        self._write(
            lambda: self._pipeline.write_error(
                record.Exception, record.CategoryInfo, record.TargetObject, record.FullyQualifiedErrorId
            )
        )

    def write_warning(self, message: str) -> None:
        """Write to the warning stream."""
        self._write(lambda: self._pipeline.write_warning(message))

    def write_verbose(self, message: str) -> None:
        """Write to the verbose stream."""
        self._write(lambda: self._pipeline.write_verbose(message))

    def write_information(self, message: str) -> None:
        """Write host text to the information stream."""
        self._write(lambda: self._pipeline.write_information(message, source="lab"))

    def finish(self, state: PSInvocationState, error: BaseException | None = None) -> None:
        """End the pipeline (Completed, Stopped, or Failed with ``error``'s record) unless a stop ended it."""
        with self._lock:
            if self._pipeline.state != _RUNNING:
                return
            if state == PSInvocationState.Stopped:
                self._pipeline.stop()
            elif error is not None:
                # psrpcore has no public way to fail a pipeline; its state change carries the error record.
                self._pipeline._change_state(state, error=error_record(error))
            else:
                self._pipeline.complete()
            self._flush()

    def _write(self, action: Callable[[], None]) -> None:
        with self._lock:
            if self._pipeline.state == _RUNNING:
                action()
                self._flush()


def _statements(pipeline: ServerPipeline) -> Iterator[tuple[CommandCall, ...]]:
    """The pipeline's statements, each its commands piped left to right, as engine calls."""
    statement: list[CommandCall] = []
    commands = pipeline.metadata.commands if pipeline.metadata is not None else []
    for command in commands:
        parameters = tuple((name, from_psrp(value)) for name, value in command.parameters)
        statement.append(CommandCall(str(command.command_text), parameters))
        if command.end_of_statement:
            yield tuple(statement)
            statement = []
    if statement:
        yield tuple(statement)
