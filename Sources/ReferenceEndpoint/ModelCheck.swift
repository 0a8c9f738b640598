/// The endpoint's start-up checks without serving: the routes must form a valid router, and one Python worker
/// must import every route's file from the model folder, find every function and evaluate every
/// `default_value`, exactly as `reference-endpoint` does before it prints its ready line (the same worker code
/// runs, then stops). `loadgen validate` uses it for an embedded target, so a scenario that validates starts.
public enum ModelCheck {
    /// Throws the error `reference-endpoint` would fail to start with (its message names the route and what is
    /// missing, e.g. `route POST /predict: function 'predict_image' not found in predict.py`).
    ///
    /// - Parameters:
    ///   - modelDirectory: the model folder.
    ///   - routes: the routes to check.
    ///   - python: the interpreter (`nil`: `python3`, the endpoint's default).
    public static func check(modelDirectory: String, routes: [RouteSpec], python: String? = nil)
        throws(EndpointStartupError)
    {
        do {
            _ = try Router(routes: routes)
        } catch {
            throw EndpointStartupError(message: error.message)
        }
        var configuration = WorkerPoolConfiguration(modelDirectory: modelDirectory, routes: routes)
        configuration.workers = 1
        if let python { configuration.pythonPath = python }
        // The model's import-time output is not this check's business: only the verdict is reported.
        let pool = WorkerPool(configuration: configuration, log: EndpointLog(enabled: false))
        defer { pool.shutdown() }
        try pool.start()
    }
}
