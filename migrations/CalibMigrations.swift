// The SQL files beside this one are the schema migrations. The EmbedMigrations build plugin compiles
// them into `embeddedMigrations`; SwiftPM only treats this folder as a target because this file exists.
