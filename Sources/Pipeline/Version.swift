/// medad's version; part of every fingerprint, so a new version re-runs every stage.
public let medadVersion = "0.6.0"
