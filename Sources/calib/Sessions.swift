import ArgumentParser
import CalibKit

extension Calib {
    struct Sessions: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the sessions in the database.")

        @OptionGroup var database: DatabaseOptions

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            try reportingErrors {
                let report = SessionListReport(summaries: try database.open(readOnly: true).sessions(), database: database.path)
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
