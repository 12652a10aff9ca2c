import CalibSupport

/// The calib release, recorded in every session it writes.
public enum CalibVersion {
    public static let current = "0.2.0"
}
