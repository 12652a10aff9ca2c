import CalibSupport
import Foundation

/// `--config FILE`: tensor-name globs mapped to settings, applied in file order (a later rule
/// overrides an earlier one for the settings it names).
///
/// ```json
/// {"tensors": {
///   "*.weight":                   {"role": "param", "bitwidth": 4},
///   "encoder.*.intermediate.gelu": {"per_channel_axis": -1, "symmetric": true},
///   "classifier.*":               {"per_channel_axis": null, "convention": "pytorch"}
/// }}
/// ```
/// Keys: role (activation|param), observer (minmax|ema), averaging_constant, per_channel_axis
/// (an axis, or null for per-tensor), convention, bitwidth, symmetric, signed, reduce_range.
/// The top-level object may also be the glob map itself. A file with no rule, a rule that sets
/// nothing, or keys beside `"tensors"` are refused: each would otherwise be silently ignored.
public struct CalibrationConfig: Sendable, Hashable {
    public struct Rule: Sendable, Hashable {
        public var glob: String
        public var settings: SettingsOverride
    }

    public var rules: [Rule]

    public init(rules: [Rule] = []) { self.rules = rules }

    /// The role the rules give `name`, if any rule sets one.
    public func role(for name: String) -> TensorRole? {
        rules.last { $0.settings.role != nil && Glob.matches($0.glob, name) }?.settings.role
    }

    public func applied(to settings: TensorSettings, name: String) -> TensorSettings {
        rules.reduce(settings) { s, rule in Glob.matches(rule.glob, name) ? rule.settings.applied(to: s) : s }
    }

    /// The globs of the rules that match none of `names`, in file order: most likely a typo, so
    /// commands say so rather than leaving the rule silently without effect.
    public func unmatchedRules(_ names: some Collection<String>) -> [String] {
        rules.map(\.glob).filter { glob in !names.contains { Glob.matches(glob, $0) } }
    }

    public static func load(path: String) throws -> CalibrationConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw InputError(file: path, FileErrors.readFailure("the config file", path: path, error))
        }
        do {
            return try parse(data)
        } catch let error as SchemeError {
            throw InputError(file: path, error.description)
        } catch {
            throw InputError(file: path, "\(error)")
        }
    }

    public static func parse(_ data: Data) throws -> CalibrationConfig {
        guard case .object(var members) = try JSONValue.parse(data) else { throw SchemeError("the config must be a JSON object") }
        let shape = #"expected {"tensors": {"GLOB": {"bitwidth": 4, ...}, ...}}"#
        if let t = members.firstIndex(where: { $0.0 == "tensors" }), case .object(let inner) = members[t].1 {
            if let other = members.first(where: { $0.0 != "tensors" }) {
                throw SchemeError("unknown top-level key '\(other.0)' beside \"tensors\" (\(shape))")
            }
            members = inner
        }
        guard !members.isEmpty else { throw SchemeError("the config holds no rule (\(shape))") }
        return CalibrationConfig(
            rules: try members.map { glob, value in
                guard case .object(let fields) = value else {
                    throw SchemeError("settings for '\(glob)' must be an object (\(shape))")
                }
                guard !fields.isEmpty else { throw SchemeError("'\(glob)' sets nothing (\(shape))") }
                let settings = try override(fields, glob: glob)
                do {
                    try settings.validate()
                } catch let error as SchemeError {
                    throw SchemeError("'\(glob)': \(error.description)")
                }
                return Rule(glob: glob, settings: settings)
            })
    }

    static func override(_ fields: [(String, JSONValue)], glob: String) throws -> SettingsOverride {
        var o = SettingsOverride()
        func bad(_ key: String, _ expected: String) -> SchemeError {
            SchemeError("'\(glob)': \(key) must be \(expected)")
        }
        for (key, value) in fields {
            switch (key, value) {
            case ("role", .string(let s)):
                guard let r = TensorRole(rawValue: s) else { throw bad(key, "activation or param") }
                o.role = r
            case ("observer", .string(let s)):
                guard let k = ObserverKind(rawValue: s) else { throw bad(key, "minmax, ema or histogram") }
                o.observer = k
            case ("averaging_constant", .float(let f)): o.averagingConstant = f
            case ("averaging_constant", .int(let i)): o.averagingConstant = Float(i)
            case ("per_channel_axis", .int(let a)): o.granularity = .axis(a)
            case ("per_channel_axis", .null): o.granularity = .perTensor
            case ("convention", .string(let s)):
                guard let c = Convention(rawValue: s) else {
                    throw bad(key, Convention.allCases.map(\.rawValue).joined(separator: ", "))
                }
                o.convention = c
            case ("bitwidth", .int(let b)): o.bitwidth = b
            case ("symmetric", .bool(let b)): o.symmetric = b
            case ("signed", .bool(let b)): o.signed = b
            case ("reduce_range", .bool(let b)): o.reduceRange = b
            case ("role", _), ("observer", _), ("convention", _): throw bad(key, "a string")
            case ("averaging_constant", _), ("bitwidth", _): throw bad(key, "a number")
            case ("per_channel_axis", _): throw bad(key, "an integer or null")
            case ("symmetric", _), ("signed", _), ("reduce_range", _): throw bad(key, "true or false")
            default: throw SchemeError("'\(glob)': unknown setting '\(key)'")
            }
        }
        return o
    }
}
