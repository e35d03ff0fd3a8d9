import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../styles.css';
import './supervisor.css';
import { Supervisor } from './Supervisor';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <Supervisor />
    </StrictMode>,
  );
}
