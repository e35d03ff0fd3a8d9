export const ErrorPanel = ({
  error,
}: {
  error: { code: string; message: string; remedy?: string | undefined };
}) => (
  <section className="card error" role="alert" data-testid="error">
    <h2>{error.code}</h2>
    <p>{error.message}</p>
    {error.remedy && <p className="remedy">{error.remedy}</p>}
  </section>
);
