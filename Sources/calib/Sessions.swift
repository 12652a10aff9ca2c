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
                let summaries = try database.open(readOnly: true).sessions()
                let out = Terminal.standardOutput
                if json {
                    out.write(JSONValue.array(summaries.map(SessionJSON.summary)).rendered() + "\n")
                    return
                }
                var table = TextTable(
                    headers: ["SESSION", "STATUS", "BATCHES", "TENSORS", "OBSERVER", "ENCODING", "UPDATED", "MODEL"],
                    rightAligned: [2, 3])
                for s in summaries {
                    table.rows.append([
                        s.session.name, s.session.status.rawValue, String(s.batches), String(s.tensors),
                        Describe.observer(s.session.observer), Describe.scheme(s.session.scheme),
                        String(s.session.updatedAt.prefix(19)).replacing("T", with: " "), s.session.model ?? "",
                    ])
                }
                out.write(summaries.isEmpty ? "no sessions in \(database.path)\n" : table.rendered(out))
            }
        }
    }
}
