import { createRoot } from 'react-dom/client';

import { App } from './App';
import { AuthProvider } from './auth';
import './styles.css';

// No StrictMode: its double effects would connect to the interview room twice in development.
createRoot(document.getElementById('root') as HTMLElement).render(
  <AuthProvider>
    <App />
  </AuthProvider>,
);
