import Pipeline

/// Every stage kind a manifest may name. A new kind is one file plus one line here.
public let stageRegistry = StageRegistry([
    SynthesizeStage.self,
    IngestStage.self,
    NormalizeStage.self,
    SplitStage.self,
    ExportStage.self,
    TrainStage.self,
    ScoreStage.self,
    ShiftStage.self,
    AggregateStage.self,
])
