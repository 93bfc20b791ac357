"""Named errors, so that callers can catch emocore's problems and nothing else."""


class EmocoreError(Exception):
    """Base class of every error emocore raises on purpose."""


class ParameterError(EmocoreError, ValueError):
    """A function was called with an invalid argument (bad shape, unknown name, out of range)."""


class AudioError(EmocoreError):
    """An audio file cannot be used: unreadable, empty, silent, non-finite or too short.

    Attributes:
        path: the offending file (``None`` for in-memory arrays).
        reason: one short phrase, e.g. ``"all samples are silent"``.
    """

    def __init__(self, path, reason: str):
        self.path = None if path is None else str(path)
        self.reason = reason
        where = self.path if self.path is not None else "<array>"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):  # picklable, so errors cross process-pool boundaries intact
        return (type(self), (self.path, self.reason))


class OutputError(EmocoreError):
    """An output cannot be written where asked: it would replace an input, the folder is a file or read-only, ...

    Attributes:
        path: the output file or folder in question.
        reason: what is wrong and what to do.
    """

    def __init__(self, path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason))


class ModelFolderError(EmocoreError):
    """A file of a model folder is missing, damaged, or does not belong with the folder's other files.

    Attributes:
        path: the offending file.
        reason: one short phrase, e.g. ``"invalid JSON (line 3, column 5: Expecting value)"``.
        advice: what to do about it.
    """

    ADVICE = "restore the model folder from where it came from (a fresh copy, the training run or a re-export)"

    def __init__(self, path, reason: str, advice: str = ADVICE):
        self.path, self.reason, self.advice = str(path), reason, advice
        super().__init__(f"{self.path}: {reason}; {advice}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason, self.advice))


class DatasetError(EmocoreError):
    """A corpus, speaker, emotion or data directory could not be found or is malformed."""


class EspeakError(EmocoreError):
    """espeak-ng is not installed, or failed to speak (:mod:`emocore.data.espeak`)."""


class DownloadError(EmocoreError):
    """A download failed or its checksum did not match."""


class TrainingDivergedError(EmocoreError):
    """A training loss became NaN or infinite; the run stopped and its last good checkpoint was kept.

    Attributes:
        iteration: the iteration (1-based) whose losses were not finite.
        losses: the offending loss values by name.
        checkpoint: the last good checkpoint folder, or ``None`` if none was written yet.
    """

    def __init__(self, iteration: int, losses: dict, checkpoint=None):
        self.iteration, self.losses = iteration, dict(losses)
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        bad = ", ".join(f"{k}={v}" for k, v in self.losses.items())
        where = (f"last good checkpoint kept at {self.checkpoint}; continue from it with resume=True "
                 "(--resume), e.g. with lower learning rates" if self.checkpoint else "no checkpoint was written yet")
        super().__init__(f"training diverged at iteration {iteration}: {bad}; {where}")

    def __reduce__(self):
        return (type(self), (self.iteration, self.losses, self.checkpoint))


class DuplicateAnswerError(EmocoreError):
    """A listener answered a listening-test trial they had already answered; the first answer stands."""
