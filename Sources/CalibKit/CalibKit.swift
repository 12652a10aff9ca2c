// CalibKit is the pipeline (runner, derivation, comparison, import and export stages) and the one
// module callers import: it re-exports the stages' public types.
@_exported import CalibDerivation
@_exported import CalibFormats
@_exported import CalibModel
@_exported import CalibObservers
@_exported import CalibReaders
@_exported import CalibStore
@_exported import CalibSupport
