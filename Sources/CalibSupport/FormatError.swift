/// A file that does not have the layout its format requires.
public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
    public let format: String
    public let message: String

    public init(format: String, _ message: String) {
        self.format = format
        self.message = message
    }

    public var description: String { "not a valid \(format) file: \(message)" }
}
