import CalibModel
import CalibSupport

/// Reads calibration batches from the command line's inputs, one batch at a time.
///
/// Inputs expand in order: a `.safetensors` file, a `.npy` file (one tensor named by the file
/// stem) or a `.npz` file is one batch; a directory of only `.npy` files is one batch; any other
/// directory expands to its batch files and subdirectories in byte-wise name order (hidden entries
/// skipped); `-` reads concatenated safetensors frames from standard input, one batch per frame.
///
/// Directories are listed up front, so a missing or empty input fails before any work, but file
/// contents are mapped only when `next()` reaches them: a run can cover far more data than fits in
/// memory. Tensors point into the file mapping, which lives as long as the returned `Batch`.
///
/// ```swift
/// let reader = try BatchReader(inputs: ["acts/"])
/// while let batch = try reader.next() { observe(batch) }
/// ```
public final class BatchReader {
    private let sources: [BatchSource]
    private var index = 0
    private let inputs: [String]

    /// Expands `inputs`; throws `InputError` for a missing path, an unknown file type, or a
    /// directory without tensors. `standardInput` is the descriptor `-` reads. With `shard`, keeps
    /// only that shard's batches of the expansion (standard input cannot be split: refused).
    public init(inputs: [String], standardInput: Int32 = 0, shard: Shard? = nil) throws {
        self.inputs = inputs
        if let shard, inputs.contains("-") {
            throw InputError(
                file: "-",
                "standard input cannot be split into shards (--shard \(shard)): its frames are not known before they "
                    + "arrive; give each worker its own inputs, or pass files or directories")
        }
        let all = try inputs.flatMap { try BatchSource.expand(input: $0, standardInput: standardInput) }
        // A shard splits the batches in name order (byte order of their paths), whatever order the
        // inputs were given in, so workers given the same inputs in another order still cover
        // every batch once; the shard is then read in that order.
        sources =
            shard.map { $0.select(all.sorted { Self.sortKey($0).utf8.lexicographicallyPrecedes(Self.sortKey($1).utf8) }) } ?? all
        if let shard, sources.isEmpty, !all.isEmpty {
            // Refused rather than an empty success, so a worker started with too many shards is noticed.
            throw InputError(
                file: description,
                "--shard \(shard) selects no batch: the inputs expand to \(all.count) batch\(all.count == 1 ? "" : "es"), "
                    + "fewer than the \(shard.count) shards; use at most \(all.count) shards")
        }
    }

    /// How many batches the inputs hold, when known before reading them (not for standard input).
    public var expectedBatches: Int? {
        sources.contains { if case .stream = $0 { true } else { false } } ? nil : sources.count
    }

    /// The inputs as given, for messages.
    public var description: String { inputs.map { $0 == "-" ? "standard input" : $0 }.joined(separator: " ") }

    /// The next batch, or nil when every input has been read; `hash` is how `Batch.contentHash` is
    /// computed (the session's algorithm). A rejected batch throws `InputError`; calling `next()`
    /// again moves on to the following input.
    public func next(hash hashAlgorithm: ContentHashAlgorithm = .current) throws -> Batch? {
        while index < sources.count {
            let source = sources[index]
            if case .stream(let stream) = source {
                if let batch = try stream.next(hash: hashAlgorithm) { return batch }
                index += 1
                continue
            }
            index += 1
            return try load(source, hashAlgorithm)
        }
        return nil
    }

    /// As `next(hash:)`, but a file batch comes mapped and parsed with its hash still to take
    /// (`PendingBatch.hash(visit:)`), so the caller can observe each piece right after it is hashed.
    /// Other batches (stdin frames, npz archives, npy directories) come hashed.
    public func nextPending(hash hashAlgorithm: ContentHashAlgorithm = .current) throws -> PendingBatch? {
        while index < sources.count {
            let source = sources[index]
            switch source {
            case .safetensors(let path), .npy(let path):
                index += 1
                let file = try MappedFile(path: path)
                let parsed = try file.guarded { try self.tensors(of: source, in: file) }
                return PendingBatch(content: .mapped(source: path, file: file, tensors: parsed, algorithm: hashAlgorithm))
            case .npz, .npyDirectory, .stream:
                // npz members may be inflated copies, not bytes of the file: hashed whole first.
                guard let batch = try next(hash: hashAlgorithm) else { continue }
                return PendingBatch(content: .hashed(batch))
            }
        }
        return nil
    }

    /// The tensors of a one-file batch, parsed from its mapping.
    private func tensors(of source: BatchSource, in file: MappedFile) throws -> [TensorData] {
        switch source {
        case .safetensors(let path): try SafetensorsParser.tensors(in: file.bytes, storage: file, file: path)
        case .npy(let path): [try NpyParser.tensor(in: file.bytes, name: Self.stem(path), storage: file, file: path, tensor: nil)]
        case .npz, .npyDirectory, .stream: preconditionFailure("not a one-file batch")
        }
    }

    private func load(_ source: BatchSource, _ hashAlgorithm: ContentHashAlgorithm) throws -> Batch {
        switch source {
        case .safetensors(let path):
            let file = try MappedFile(path: path)
            return try file.guarded {
                let tensors = try SafetensorsParser.tensors(in: file.bytes, storage: file, file: path)
                return batch(path, file, tensors, hashAlgorithm)
            }
        case .npy(let path):
            let file = try MappedFile(path: path)
            return try file.guarded {
                let tensor = try NpyParser.tensor(
                    in: file.bytes, name: Self.stem(path), storage: file, file: path, tensor: nil)
                return batch(path, file, [tensor], hashAlgorithm)
            }
        case .npz(let path):
            let file = try MappedFile(path: path)
            return try file.guarded {
                let tensors = try NpzArchive.tensors(in: file.bytes, storage: file, file: path)
                return batch(path, file, tensors, hashAlgorithm)
            }
        case .npyDirectory(let directory, let paths):
            // Each file's name and length go into the hash too, so renaming or re-splitting the
            // arrays is a different batch even when the concatenated bytes happen to match.
            let hasher = ContentHasher(hashAlgorithm)
            var tensors: [TensorData] = []
            var files: [MappedFile] = []
            var byteCount = 0
            for path in paths {
                let file = try MappedFile(path: path)
                let name = Self.stem(path)
                try file.guarded {
                    tensors.append(try NpyParser.tensor(in: file.bytes, name: name, storage: file, file: path, tensor: nil))
                    hasher.update(Array(Self.fileName(path).utf8) + [0])
                    withUnsafeBytes(of: UInt64(file.bytes.count).littleEndian) { hasher.update($0) }
                    file.feed(hasher)
                }
                files.append(file)
                byteCount += file.bytes.count
            }
            return Batch(
                source: directory, contentHash: hasher.finalize(), byteCount: byteCount, tensors: tensors,
                checkUnchanged: { [files] in for file in files { try file.checkUnchanged() } })
        case .stream:
            preconditionFailure("streams are read frame by frame in next()")
        }
    }

    /// Hashing releases the pages behind it: the observers fault them in again, a window at a time.
    private func batch(
        _ path: String, _ file: MappedFile, _ tensors: [TensorData], _ hashAlgorithm: ContentHashAlgorithm
    ) -> Batch {
        let hasher = ContentHasher(hashAlgorithm)
        file.feed(hasher)
        return Batch(
            source: path, contentHash: hasher.finalize(), byteCount: file.bytes.count, tensors: tensors,
            checkUnchanged: file.checkUnchanged)
    }

    /// The path a source is named by, for the shard split (streams are refused before it).
    static func sortKey(_ source: BatchSource) -> String {
        switch source {
        case .safetensors(let p), .npy(let p), .npz(let p), .npyDirectory(let p, _): p
        case .stream: ""
        }
    }

    private static func fileName(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    }

    /// The file name without its extension: the tensor name of a .npy file.
    private static func stem(_ path: String) -> String {
        let name = fileName(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }
}

/// One worker's part of a run split across `count` workers: of the expanded batches, in their
/// name order, every `count`-th starting at `index` (0-based). Workers given the same inputs and
/// every index from 0 to `count - 1` cover each batch exactly once, with no coordination.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// Refuses `count < 1` and an index outside `0..<count`.
    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw ShardError("the shard count must be at least 1, got \(count)") }
        guard index >= 0 && index < count else {
            throw ShardError(
                "the shard index must be from 0 to \(count - 1) for \(count) shard\(count == 1 ? "" : "s") (0-based), got \(index)"
            )
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/N`, as `--shard` takes it.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ShardError("expected I/N (shard I of N, 0-based, e.g. 0/4), got '\(text)'")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// This shard's elements of `all`, in order.
    public func select<T>(_ all: [T]) -> [T] {
        stride(from: index, to: all.count, by: count).map { all[$0] }
    }
}

/// A `--shard` value that is not a valid shard.
public struct ShardError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
