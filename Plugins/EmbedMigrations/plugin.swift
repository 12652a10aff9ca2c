import Foundation
import PackagePlugin

/// Turns every `migrations/NNNN_name.sql` into a Swift string so the binary carries its schema.
///
/// SwiftPM resources (`Bundle.module`) break on Linux once the binary leaves `.build`, so the SQL is
/// compiled in instead. Listing the files as inputs makes an edited, added or removed migration rebuild.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let dir = target.directoryURL
        let sqlFiles = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(sqlFiles.count) SQL migrations",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [output.path] + sqlFiles.map(\.path),
                inputFiles: sqlFiles + [dir],
                outputFiles: [output]
            )
        ]
    }
}
