/// Named encodings as deployment files carry them: what exporters write and importers read.
///
/// Formats know nothing of sessions or SQLite; the store builds a table from a session, and an
/// import turns a table into a session.
public struct EncodingTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var role: TensorRole
        /// Scale, offset (AIMET sign), representable range, scheme and channel axis.
        public var encoding: Encoding
        /// The observed (calibrated) range per channel, when known: ONNX Runtime tables carry ranges,
        /// not encodings.
        public var observedMin: [Float]?
        public var observedMax: [Float]?

        public init(name: String, role: TensorRole, encoding: Encoding, observedMin: [Float]? = nil, observedMax: [Float]? = nil) {
            self.name = name
            self.role = role
            self.encoding = encoding
            self.observedMin = observedMin
            self.observedMax = observedMax
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public var activations: [Entry] { entries.filter { $0.role == .activation } }
    public var params: [Entry] { entries.filter { $0.role == .param } }
}

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
