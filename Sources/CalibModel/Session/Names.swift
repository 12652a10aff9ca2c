/// What a session, label or tensor name may hold. calib keeps names byte for byte (in SQLite and in
/// every file it writes), so a name is refused where some place it must go cannot hold it, instead of
/// being truncated, split or merged there.
public enum Names {
    /// Why `name` cannot name a new session, or nil. `:` separates `PATH:NAME` on the command line
    /// (`show`, `export`, `diff`), so a session name never holds one.
    public static func sessionProblem(_ name: String) -> String? {
        if name.isEmpty { return "a session name must not be empty" }
        if name.contains(":") {
            return "'\(printable(name))' holds ':', which separates PATH:NAME on the command line; choose a name without ':'"
        }
        if let c = control(name) { return "'\(printable(name))' holds the control character \(c); choose a printable name" }
        return nil
    }

    /// Why `label` cannot name a new encoding set, or nil.
    public static func labelProblem(_ label: String) -> String? {
        if label.isEmpty { return "a label must not be empty" }
        if label == "default" { return "'default' is the label of the encodings each run derives" }
        if let c = control(label) { return "'\(printable(label))' holds the control character \(c); choose a printable label" }
        return nil
    }

    /// Why `name` cannot name a tensor, or nil: AIMET and TensorRT files cannot hold an empty name
    /// (their importers refuse it), SQLite text and C tools end a name at a NUL, and a TensorRT
    /// calibration cache line or a CSV row ends at a newline.
    public static func tensorProblem(_ name: String) -> String? {
        if name.isEmpty { return "the tensor name is empty, which AIMET and TensorRT files cannot hold" }
        if name.unicodeScalars.contains("\0") {
            return "the tensor name holds a NUL (U+0000), which would end it in SQLite and C tools; rename the tensor"
        }
        if let c = control(name) {
            return "the tensor name holds the control character \(c), which the TensorRT cache (one line per tensor) "
                + "and CSV exports cannot hold; rename the tensor"
        }
        return nil
    }

    /// The first control character (C0, DEL or C1) of `name`, as `U+XXXX`.
    static func control(_ name: String) -> String? {
        guard let c = name.unicodeScalars.first(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            return nil
        }
        let hex = String(c.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// `name` with control characters shown as `\u{…}` escapes, for messages.
    public static func printable(_ name: String) -> String {
        var out = ""
        for c in name.unicodeScalars {
            if c.value < 0x20 || (0x7F...0x9F).contains(c.value) {
                out += "\\u{\(String(c.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// A name compared and hashed by its UTF-8 bytes. Swift's `String ==` compares canonically (an NFC
/// and an NFD spelling of "é" are equal), but to safetensors, numpy and SQLite they are different
/// tensors: dictionaries and sets of names key on this.
public struct ExactName: Hashable, Sendable, CustomStringConvertible {
    public let string: String

    public init(_ string: String) { self.string = string }

    public static func == (a: ExactName, b: ExactName) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }

    public func hash(into hasher: inout Hasher) {
        var copy = string
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    public var description: String { string }
}

/// Why a name was refused.
public struct NameError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A dictionary of names compared byte for byte (`ExactName`), subscripted by `String`: a drop-in
/// for `[String: Value]` where the keys are tensor names.
public struct NameMap<Value>: ExpressibleByDictionaryLiteral, Sequence {
    private var storage: [ExactName: Value]

    public init() { storage = [:] }

    public init(dictionaryLiteral elements: (String, Value)...) {
        storage = [:]
        for (k, v) in elements { storage[ExactName(k)] = v }
    }

    public subscript(name: String) -> Value? {
        get { storage[ExactName(name)] }
        set { storage[ExactName(name)] = newValue }
    }

    public subscript(name: String, default value: @autoclosure () -> Value) -> Value {
        get { storage[ExactName(name), default: value()] }
        set { storage[ExactName(name)] = newValue }
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }
    public var values: Dictionary<ExactName, Value>.Values { storage.values }
    /// The names, as the strings they were given as.
    public var keys: [String] { storage.keys.map(\.string) }

    public func makeIterator() -> AnyIterator<(String, Value)> {
        var inner = storage.makeIterator()
        return AnyIterator { inner.next().map { ($0.key.string, $0.value) } }
    }
}

extension NameMap: Sendable where Value: Sendable {}
extension NameMap: Equatable where Value: Equatable {}
