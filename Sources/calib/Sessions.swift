import ArgumentParser
import CalibKit

extension Calib {
    struct Sessions: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sessions", abstract: "List the sessions in the database.")

        @OptionGroup var database: DatabaseOptions

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                let summaries = try store.sessions()
                let schemes = try Dictionary(
                    uniqueKeysWithValues: summaries.map { ($0.session.id, try store.currentSchemes(session: $0.session.id)) })
                let observers = try Dictionary(
                    uniqueKeysWithValues: summaries.map { ($0.session.id, try store.currentObservers(session: $0.session.id)) })
                let report = SessionListReport(
                    summaries: summaries, database: database.path, schemes: schemes, observers: observers)
                let out = Terminal.standardOutput
                if json {
                    out.write(report.json.rendered() + "\n")
                    return
                }
                out.write(report.summaries.isEmpty ? out.render(report.notes) : out.render(report.table))
            }
        }
    }
}
